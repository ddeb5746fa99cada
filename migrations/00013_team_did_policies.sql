-- A team's DID sign-in policy: which DID methods it trusts, optionally the
-- only DIDs that may call, and the audiences a DID-JWT may carry besides the
-- team's gateway URL. No row: DID-JWTs are refused. Part of the team's
-- configuration, so a change is announced on attach_config with the team id
-- and every replica's team directory reloads the team.

-- +goose Up
CREATE TABLE team_did_policies (
    team_id    uuid PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    methods    text[] NOT NULL DEFAULT '{}',
    allow      text[] NOT NULL DEFAULT '{}',
    audiences  text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER team_did_policies_notify AFTER INSERT OR UPDATE OR DELETE ON team_did_policies
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');

-- +goose Down
DROP TABLE team_did_policies;
