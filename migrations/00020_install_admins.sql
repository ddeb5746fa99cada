-- The install's administrators and locked accounts. users.install_admin
-- marks an install administrator (set by `attach user create
-- --install-admin` or the management API; ATTACH_INSTALL_ADMINS names more
-- by verified email). users.locked_at is set while an install administrator
-- keeps the account from signing in; its sessions are ended when it is set.
-- console_sessions.idp_groups keeps the group claim of a single sign-on
-- session's ID token, for ATTACH_TEAM_CREATORS=group:...

-- +goose Up
ALTER TABLE users
    ADD COLUMN install_admin boolean NOT NULL DEFAULT false,
    ADD COLUMN locked_at timestamptz;
ALTER TABLE console_sessions ADD COLUMN idp_groups text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE console_sessions DROP COLUMN idp_groups;
ALTER TABLE users DROP COLUMN locked_at, DROP COLUMN install_admin;
