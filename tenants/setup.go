package tenants

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Setup tokens let whoever started the gateway create its first account:
// with no users yet, the gateway prints a one-time link holding a token, and
// the console's setup page spends it. Only the token's SHA-256 is stored.

// Setup link lifetimes.
const (
	DefaultSetupTTL = 24 * time.Hour
	MaxSetupTTL     = 30 * 24 * time.Hour
)

// CreateSetupToken makes a one-time setup token valid for ttl (0:
// DefaultSetupTTL) and returns it; the caller shows it once.
func (s *Store) CreateSetupToken(ctx context.Context, ttl time.Duration) (string, error) {
	switch {
	case ttl == 0:
		ttl = DefaultSetupTTL
	case ttl < time.Minute || ttl > MaxSetupTTL:
		return "", attach.Invalid("ttl", "must be from a minute to 30 days")
	}
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	_, err = s.pool.Exec(ctx,
		"INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, now() + $2::float8 * interval '1 second')",
		hash, ttl.Seconds())
	if err != nil {
		return "", DBError("create setup token", err)
	}
	return token, nil
}

// UseSetupToken creates the first account with a setup token, in one
// transaction: the token must be known and unused (else not found), not
// expired (else attach.CodeExpired), and there must still be no user at all
// (else a conflict). The token is spent only when the account is made.
func (s *Store) UseSetupToken(ctx context.Context, token string, in UserInput) (User, error) {
	return s.UseSetupTokenOwning(ctx, token, in, "")
}

// UseSetupTokenOwning is UseSetupToken whose account is also, in the same
// transaction, an owner of the team with slug team when that team exists:
// the install's default team, which the first start made and whose first
// API key the start-up banner printed. The person who started the gateway
// then finds that team in the console instead of an empty list.
func (s *Store) UseSetupTokenOwning(ctx context.Context, token string, in UserInput, team string) (User, error) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return User{}, attach.NotFound("setup token")
	}
	in, err := in.normalize()
	if err != nil {
		return User{}, err
	}
	pwHash, err := s.pw.hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Two setup links spent at once must not make two first users: the
		// lock makes the second wait and then see the first's user.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('attach: first user'))"); err != nil {
			return DBError("lock setup", err)
		}
		var used, expired bool
		err := tx.QueryRow(ctx,
			"SELECT used_at IS NOT NULL, expires_at <= now() FROM setup_tokens WHERE token_hash = $1 FOR UPDATE",
			hash).Scan(&used, &expired)
		if err != nil {
			return DBError("setup token", err)
		}
		switch {
		case used:
			return attach.NotFound("setup token")
		case expired:
			return attach.Errorf(attach.CodeExpired, "setup token expired")
		}
		var anyUser bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&anyUser); err != nil {
			return DBError("count users", err)
		}
		if anyUser {
			return attach.Errorf(attach.CodeConflict, "setup: the first account already exists")
		}
		// The setup link is the operator's own: its account counts as verified.
		in.EmailVerified = true
		if u, err = insertLocalUser(ctx, tx, in, pwHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE setup_tokens SET used_at = now() WHERE token_hash = $1", hash); err != nil {
			return DBError("spend setup token", err)
		}
		if team != "" {
			var teamID string
			err := tx.QueryRow(ctx, `INSERT INTO memberships (team_id, user_id, role)
				SELECT id, $2, $3 FROM teams WHERE slug = $1 RETURNING team_id::text`, team, u.ID, RoleOwner).Scan(&teamID)
			switch {
			case errors.Is(err, pgx.ErrNoRows): // no such team: nothing to own
			case err != nil:
				return DBError("join the default team", err)
			default:
				if err := audit(ctx, tx, AuditEntry{TeamID: teamID, Action: AuditMemberAdd, TargetType: "user", TargetID: u.ID,
					TargetName: u.Email, Detail: map[string]any{"role": RoleOwner}}); err != nil {
					return err
				}
			}
		}
		return audit(ctx, tx, AuditEntry{Action: AuditSetupComplete, TargetType: "user", TargetID: u.ID, TargetName: u.Email})
	})
	return u, err
}
