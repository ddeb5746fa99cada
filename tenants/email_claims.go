package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Audit actions of an address a sign-in provider verified.
const (
	AuditUserLinkSSO      = "user.link_sso"
	AuditUserEmailRelease = "user.email_release"
)

// claimVerifiedEmail settles who owns email, which the provider of
// issuer/subject verified, before that identity signs in. It links the
// account that holds the address when that account proved it (or has no
// password anyone else could know) and has no provider identity yet:
// ok true and that account. It releases the address from an account that
// never proved it, so the sign-in goes on to create or update the
// identity's own account: ok false. Otherwise it does nothing, and the
// sign-in behaves as without a verified address.
func claimVerifiedEmail(ctx context.Context, tx pgx.Tx, issuer, subject, email string) (User, bool, error) {
	var self bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2)",
		issuer, subject).Scan(&self)
	if err != nil {
		return User{}, false, DBError("find user", err)
	}
	var (
		holderID, holderEmail              string
		verified, hasPassword, hasProvider bool
	)
	err = tx.QueryRow(ctx,
		`SELECT id, email, email_verified, password_hash IS NOT NULL, oidc_issuer IS NOT NULL FROM users
		 WHERE lower(email) = lower($1) AND (oidc_issuer IS DISTINCT FROM $2 OR oidc_subject IS DISTINCT FROM $3)
		 FOR UPDATE`, email, issuer, subject).Scan(&holderID, &holderEmail, &verified, &hasPassword, &hasProvider)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, DBError("find user", err)
	}
	switch {
	case !self && !hasProvider && (verified || !hasPassword):
		u, err := scanUser(tx.QueryRow(ctx,
			`UPDATE users SET oidc_issuer = $2, oidc_subject = $3, email_verified = true, last_sign_in_at = now()
			 WHERE id = $1 RETURNING `+userColumns, holderID, issuer, subject))
		if err != nil {
			return User{}, false, DBError("link user", err)
		}
		return u, true, auditAlways(ctx, tx, AuditEntry{Action: AuditUserLinkSSO, TargetType: "user", TargetID: u.ID, TargetName: u.Email,
			Detail: map[string]any{"issuer": issuer}})
	case !verified:
		// The holder typed the address without proving it; the provider's
		// person did prove it. The holder keeps their account, teams and
		// password, under an address that cannot collide, and is signed out.
		if _, err := tx.Exec(ctx,
			"UPDATE users SET email = 'released-' || id::text || '@invalid' WHERE id = $1", holderID); err != nil {
			return User{}, false, DBError("release email", err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE user_id = $1", holderID); err != nil {
			return User{}, false, DBError("release email", err)
		}
		return User{}, false, auditAlways(ctx, tx, AuditEntry{Action: AuditUserEmailRelease, TargetType: "user", TargetID: holderID,
			TargetName: holderEmail, Detail: map[string]any{"email": holderEmail, "issuer": issuer,
				"why": "a sign-in provider verified this address for someone else"}})
	}
	return User{}, false, nil
}

// auditAlways records e even when no one is signed in yet (a sign-in in
// progress has no actor): who owns an address must always leave a trace.
func auditAlways(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	if a, ok := ActorFrom(ctx); ok {
		e.ActorID, e.ActorName, e.ActorIP = a.ID, a.Name, a.IP
	} else {
		e.ActorName = "single sign-on"
	}
	return insertAudit(ctx, tx, e)
}
