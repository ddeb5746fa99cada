-- An invite is bound to its email unless the inviter chose "anyone with the
-- link" (anyone = true, email ''). A user's email_verified says whether the
-- address was proven: by a bound invite delivered there, by the IdP's
-- email_verified claim, or by the install's setup link. Only an unverified
-- address can be released to the person an IdP vouches for.
-- Invites made before this migration stay bound to the address they name.
-- Existing users are unverified, except the setup owner and the accounts an
-- operator made with `attach user create`.

-- +goose Up
ALTER TABLE invites
    ADD COLUMN anyone boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT invites_anyone_no_email CHECK (anyone = (email = ''));
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
UPDATE users SET email_verified = true
 WHERE id::text IN (SELECT target_id FROM audit_log WHERE action = 'setup.complete')
    OR id::text IN (SELECT target_id FROM audit_log WHERE action = 'user.create' AND actor = 'attach user create');

-- +goose Down
ALTER TABLE users DROP COLUMN email_verified;
DELETE FROM invites WHERE anyone;
ALTER TABLE invites
    DROP CONSTRAINT invites_anyone_no_email,
    DROP COLUMN anyone;
