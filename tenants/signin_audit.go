package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// SignInEvent is a refused or throttled password sign-in, for the audit
// log. It never holds the password.
type SignInEvent struct {
	Action string         // AuditSignInFailed or AuditSignInThrottle
	Email  string         // the email typed
	IP     string         // the client address
	Detail map[string]any // why: the throttle scope and lock, ...
}

// RecordSignInEvent writes e in the install-wide audit log and, when the
// email is an account's, in the log of every team the account belongs to,
// so the team's admins see someone guessing at a member's password. The
// rows name the account by email and id; nothing about the password.
func (s *Store) RecordSignInEvent(ctx context.Context, e SignInEvent) error {
	email := accountName(e.Email)
	entry := AuditEntry{ActorName: email, ActorIP: e.IP, Action: e.Action, TargetType: "user", TargetName: email, Detail: e.Detail}
	var teams []string
	if email != "" && len(email) <= 254 {
		var userID string
		err := s.pool.QueryRow(ctx, "SELECT id FROM users WHERE lower(email) = $1", email).Scan(&userID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return DBError("find user of a sign-in", err)
		default:
			entry.TargetID = userID
			ms, err := s.TeamsOf(ctx, userID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				teams = append(teams, m.Team.ID)
			}
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, teamID := range append([]string{""}, teams...) {
			e := entry
			e.TeamID = teamID
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
