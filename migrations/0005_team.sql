-- The team's root of trust (docs/TEAM.md): each version as signed, added once, never changed.
-- The root keys themselves never enter the database.
CREATE TABLE team_roots (
    version bigint PRIMARY KEY CHECK (version > 0),
    doc jsonb NOT NULL
);
CREATE TRIGGER team_roots_append_only BEFORE UPDATE OR DELETE ON team_roots
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
