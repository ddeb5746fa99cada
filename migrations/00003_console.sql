-- The console: the people who sign in to it, the teams they belong to and in
-- which role, invitations, sign-in sessions, throttling of failed sign-ins,
-- the one-time link that creates the first account, and the audit log of
-- every change. Tokens (sessions, invites, setup links) are stored as their
-- SHA-256 only. Foreign keys to users are named *_user_fk so the store can
-- tell "no such user" from "no such team".

-- +goose Up
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    password_hash   text,          -- argon2id, PHC string; NULL: no password
    oidc_issuer     text,
    oidc_subject    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    UNIQUE (oidc_issuer, oidc_subject),
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL))
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE memberships (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL CONSTRAINT memberships_user_fk REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);

CREATE TABLE invites (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  uuid CONSTRAINT invites_inviter_user_fk REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid CONSTRAINT invites_acceptor_user_fk REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX invites_team_id ON invites (team_id, id);

CREATE TABLE console_sessions (
    token_hash     bytea PRIMARY KEY,
    user_id        uuid NOT NULL CONSTRAINT console_sessions_user_fk REFERENCES users (id) ON DELETE CASCADE,
    csrf           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- expires_at slides forward by idle_timeout on use, never past max_expires_at.
    expires_at     timestamptz NOT NULL,
    idle_timeout   interval NOT NULL,
    max_expires_at timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    user_agent     text NOT NULL DEFAULT '',
    ip             text NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_user_id ON console_sessions (user_id);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- A team's audit rows go with the team; install-wide events (sign-ins, a
-- team's deletion) have no team. actor_id has no foreign key on purpose: the
-- log outlives the people in it.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    team_id     uuid REFERENCES teams (id) ON DELETE CASCADE,
    actor_id    uuid,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    target_name text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    ip          text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_team_id ON audit_log (team_id, id DESC);

-- Failed sign-ins per account and per address, shared by every replica.
CREATE TABLE sign_in_attempts (
    key          text PRIMARY KEY, -- "account:<email>" or "addr:<ip>"
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);

CREATE TABLE setup_tokens (
    token_hash bytea PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

ALTER TABLE api_keys ADD COLUMN created_by uuid
    CONSTRAINT api_keys_creator_user_fk REFERENCES users (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN created_by;
DROP TABLE setup_tokens;
DROP TABLE sign_in_attempts;
DROP TABLE audit_log;
DROP TABLE console_sessions;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE users;
