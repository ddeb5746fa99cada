-- Teams and what each team configures: the identity providers it trusts, the
-- engines it proxies to, and the gateway API keys it has minted. Ids are
-- UUIDv7 made by the application, so ordering by id is ordering by creation.

-- +goose Up
CREATE TABLE teams (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE issuers (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    url        text NOT NULL,
    audience   text NOT NULL,
    algorithms text[] NOT NULL DEFAULT '{}',
    user_claim text NOT NULL DEFAULT 'sub',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, url, audience)
);
CREATE INDEX issuers_team_id ON issuers (team_id, id);

CREATE TABLE engines (
    id            uuid PRIMARY KEY,
    team_id       uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name          text NOT NULL,
    dialect       text NOT NULL CHECK (dialect IN ('ollama', 'openai')),
    base_url      text NOT NULL,
    -- AES-GCM sealed upstream key, the engine id as additional data.
    api_key_enc   bytea,
    api_key_last4 text NOT NULL DEFAULT '',
    models        text[] NOT NULL DEFAULT '{}',
    is_default    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);
CREATE INDEX engines_team_id ON engines (team_id, id);
-- At most one default engine per team.
CREATE UNIQUE INDEX engines_one_default ON engines (team_id) WHERE is_default;

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL UNIQUE,
    hash         bytea NOT NULL, -- SHA-256 of the whole token
    scopes       text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_team_id ON api_keys (team_id, id);

-- Every replica LISTENs on attach_config and reloads the team named by the
-- payload. The trigger argument names the column holding the team id.
-- +goose StatementBegin
CREATE FUNCTION attach_notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rec jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        rec := to_jsonb(OLD);
    ELSE
        rec := to_jsonb(NEW);
    END IF;
    PERFORM pg_notify('attach_config', rec ->> TG_ARGV[0]);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER teams_notify AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('id');
CREATE TRIGGER issuers_notify AFTER INSERT OR UPDATE OR DELETE ON issuers
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');
CREATE TRIGGER engines_notify AFTER INSERT OR UPDATE OR DELETE ON engines
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');
CREATE TRIGGER api_keys_notify AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');
-- Recording last use is frequent and changes nothing the request path reads,
-- so it must not make every replica reload the team.
CREATE TRIGGER api_keys_notify_update AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION attach_notify_config('team_id');

-- +goose Down
DROP TABLE api_keys;
DROP TABLE engines;
DROP TABLE issuers;
DROP TABLE teams;
DROP FUNCTION attach_notify_config();
