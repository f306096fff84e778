-- Drafts in team mode: one row per (client, profile), changed under its row lock (a change
-- reads, edits and writes the draft in one transaction), its revision one higher each time.
CREATE TABLE drafts (
    client_id text NOT NULL,
    profile_id text NOT NULL,
    body jsonb NOT NULL,
    PRIMARY KEY (client_id, profile_id)
);
