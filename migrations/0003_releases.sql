-- Releases in team mode: payloads stored once under their content address, and the signed
-- releases of each (client, profile) channel. A publish takes the audit chain's lock and
-- commits its release with its audit record, so versions are handed out one at a time and
-- every release is on the chain. Both tables are append-only, as the chain is.
CREATE TABLE payloads (
    artifact_id text PRIMARY KEY,
    -- The payload's RFC 8785 bytes, which hash to `artifact_id`.
    body bytea NOT NULL
);

CREATE TABLE releases (
    client_id text NOT NULL,
    profile_id text NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    artifact_id text NOT NULL REFERENCES payloads (artifact_id),
    -- The exact signed envelope text, its signature and the key that made it.
    envelope text NOT NULL,
    signature text NOT NULL,
    key_id text NOT NULL,
    PRIMARY KEY (client_id, profile_id, version)
);
CREATE INDEX releases_artifact ON releases (artifact_id);

CREATE TRIGGER payloads_append_only BEFORE UPDATE OR DELETE ON payloads
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payloads_no_truncate BEFORE TRUNCATE ON payloads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER releases_append_only BEFORE UPDATE OR DELETE ON releases
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
