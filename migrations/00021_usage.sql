-- The usage ledger (tenants/usage). usage_records holds one row per chat,
-- completion or embedding exchange, kept for a short time (7 days by
-- default); usage_minutes adds them up per minute and per (team, user, key,
-- engine, model), kept for 13 months by default, which is what the usage
-- API reads. Both are written in batches off the request path.

-- +goose Up
CREATE TABLE usage_records (
    team_id           uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    at                timestamptz NOT NULL,
    subject           text NOT NULL,
    key_id            text NOT NULL DEFAULT '',
    agent             text NOT NULL DEFAULT '',
    engine            text NOT NULL,
    model             text NOT NULL,
    path              text NOT NULL,
    prompt_tokens     integer NOT NULL,
    completion_tokens integer NOT NULL,
    estimated         boolean NOT NULL,
    status            smallint NOT NULL,
    latency_ms        integer NOT NULL
);
CREATE INDEX usage_records_team_at ON usage_records (team_id, at);
-- Rows arrive in time order: a BRIN index finds old ones for pruning at a
-- fraction of a btree's cost to keep up on every insert.
CREATE INDEX usage_records_at ON usage_records USING brin (at);

CREATE TABLE usage_minutes (
    team_id            uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    minute             timestamptz NOT NULL,
    subject            text NOT NULL,
    key_id             text NOT NULL,
    engine             text NOT NULL,
    model              text NOT NULL,
    requests           bigint NOT NULL,
    prompt_tokens      bigint NOT NULL,
    completion_tokens  bigint NOT NULL,
    estimated_requests bigint NOT NULL,
    failed_requests    bigint NOT NULL,
    PRIMARY KEY (team_id, minute, subject, key_id, engine, model)
);
CREATE INDEX usage_minutes_minute ON usage_minutes (minute);

-- +goose Down
DROP TABLE usage_minutes;
DROP TABLE usage_records;
