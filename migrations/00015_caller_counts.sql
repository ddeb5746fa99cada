-- Who called each team's gateway: successful authentications counted per
-- hour and per identity. The gateway counts in memory and adds its counts
-- here in one statement every few seconds, so no request waits on a write;
-- rows older than the console shows (a day, with a week kept) are pruned by
-- the same flusher.

-- +goose Up
CREATE TABLE caller_counts (
    team_id   uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL, -- the start of the hour counted
    -- How the caller proved who it is: oidc, did, apikey, console,
    -- delegation; 'other' counts the callers over the gateway's bound.
    method    text NOT NULL,
    issuer    text NOT NULL,
    subject   text NOT NULL,
    actor     text NOT NULL DEFAULT '', -- the agent acting for the subject
    -- Named by the subject (apikey:<id>, user:<id>), kept apart so that the
    -- console can name the key or the user; neither is a foreign key, as a
    -- revoked key or a removed user still called.
    key_id    uuid,
    user_id   uuid,
    count     bigint NOT NULL CHECK (count > 0),
    last_seen timestamptz NOT NULL,
    PRIMARY KEY (team_id, hour, method, issuer, subject, actor)
);
CREATE INDEX caller_counts_hour ON caller_counts (hour);

-- +goose Down
DROP TABLE caller_counts;
