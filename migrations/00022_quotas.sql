-- Quotas: limits per team, per user and per API key, and the counters every
-- replica leases its share of each window's allowance from.
--
-- team_quotas holds one row per limited scope of a team: scope 'team'
-- (subject ''), 'user' (subject = the caller's subject, or '*' for every
-- user without a row of their own) or 'key' (subject = the API key's id, or
-- '*' for every key). A NULL limit is no limit; 0 blocks. A change is
-- announced on attach_config like any change to the team's configuration,
-- so every replica's directory reloads the team.
--
-- quota_counters counts, per bucket (team, scope, subject and kind of
-- limit) and window, what replicas have taken: requests admitted, tokens
-- charged, and the unspent leases they hold. A replica takes a slice of
-- what remains in one UPDATE ... RETURNING and spends it in memory.

-- +goose Up
CREATE TABLE team_quotas (
    team_id        uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    scope          text NOT NULL CHECK (scope IN ('team', 'user', 'key')),
    subject        text NOT NULL,
    rpm            bigint CHECK (rpm >= 0),
    tpm            bigint CHECK (tpm >= 0),
    tokens_per_day bigint CHECK (tokens_per_day >= 0),
    monthly_tokens bigint CHECK (monthly_tokens >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, scope, subject),
    CHECK ((scope = 'team') = (subject = ''))
);

CREATE TRIGGER team_quotas_notify AFTER INSERT OR UPDATE OR DELETE ON team_quotas
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');

CREATE TABLE quota_counters (
    bucket       text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    used         bigint NOT NULL DEFAULT 0,
    -- granted is the last lease handed out, read back by RETURNING.
    granted      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, window_start)
);

CREATE INDEX quota_counters_window_end ON quota_counters (window_end);

-- +goose Down
DROP TABLE quota_counters;
DROP TABLE team_quotas;
