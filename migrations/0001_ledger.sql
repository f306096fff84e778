-- The audit chain and the events it orders (team mode, docs/TEAM.md). Every append locks the
-- one row of `chain_head`, so replicas that append at the same moment take turns: one chain,
-- and sequence numbers handed out in commit order. The unique `prev_hash` makes a fork fail
-- even if some code path forgot the lock.

CREATE TABLE chain_head (
    id int PRIMARY KEY CHECK (id = 1),
    -- The signed checkpoint of the last record (as `audit.head` holds it in the state
    -- directory); NULL until the first append.
    checkpoint jsonb
);
INSERT INTO chain_head (id, checkpoint) VALUES (1, NULL);

CREATE TABLE audit (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    prev_hash text NOT NULL UNIQUE,
    hash text NOT NULL UNIQUE,
    at timestamptz NOT NULL,
    action text NOT NULL,
    actor text NOT NULL,
    client_id text,
    profile_id text,
    -- The record exactly as hashed (the same JSON line the file store writes).
    record text NOT NULL
);
CREATE INDEX audit_target ON audit (client_id, profile_id);

-- What event streams replay: one row per audit record, under its sequence number.
CREATE TABLE events (
    id bigint PRIMARY KEY REFERENCES audit (seq),
    at timestamptz NOT NULL,
    kind text NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX events_at ON events (at);

-- The log is append-only for every role the application uses: a mistaken query fails loudly.
-- (An owner can still disable the trigger; `audit --verify` is what catches that.)
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
