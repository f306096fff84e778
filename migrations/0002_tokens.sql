-- The API tokens every replica accepts: the token file (hashes, never tokens) as one row,
-- changed under its row lock; `revision` rises with every change, so a replica re-reads the
-- tokens only when they changed (and a revocation through one replica holds on the others
-- within its check interval).
CREATE TABLE token_file (
    id int PRIMARY KEY CHECK (id = 1),
    body jsonb NOT NULL,
    revision bigint NOT NULL
);
INSERT INTO token_file (id, body, revision) VALUES (1, '{"version": 1, "tokens": []}', 0);
