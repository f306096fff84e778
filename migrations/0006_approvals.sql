-- The approvals of the team's registry (`registry approve`): one document, changed under its
-- row lock, so every replica serves the same approved set at `/v0.1/servers`.
CREATE TABLE approval_file (
    id int PRIMARY KEY CHECK (id = 1),
    body jsonb NOT NULL
);
INSERT INTO approval_file (id, body) VALUES (1, '[]');
