-- A console session started through single sign-on keeps the provider's ID
-- token, sealed with the install's secret key, so signing out can send it to
-- the provider's end_session_endpoint as id_token_hint (RP-initiated logout).
-- NULL for password sign-ins and sessions made before this migration: they
-- sign out locally only.

-- +goose Up
ALTER TABLE console_sessions ADD COLUMN id_token_sealed bytea;

-- +goose Down
ALTER TABLE console_sessions DROP COLUMN id_token_sealed;
