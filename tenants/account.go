package tenants

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// What people do to their own account from the console's account page.

// Audit actions of the account page.
const (
	AuditUserUpdate  = "user.update"  // a user renamed themselves
	AuditMemberLeave = "member.leave" // a user left a team
	AuditSessionEnd  = "session.end"  // a user ended another session of theirs
)

// CheckPassword reports what SetPassword and ChangePassword would refuse
// in a new password, without a database.
func CheckPassword(p string) error { return checkPassword(p) }

// CheckPersonName reports what RenameUser would refuse in a name.
func CheckPersonName(name string) error {
	_, err := personName(name)
	return err
}

// RenameUser changes a user's display name, checked like at sign-up, and
// audits the change install-wide with the name before and after. The same
// name changes (and audits) nothing.
func (s *Store) RenameUser(ctx context.Context, userID, name string) (User, error) {
	name, err := personName(name)
	if err != nil {
		return User{}, err
	}
	if !attach.ValidID(userID) {
		return User{}, attach.NotFound("user")
	}
	var u User
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var before string
		if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&before); err != nil {
			return DBError("get user", err)
		}
		u, err = scanUser(tx.QueryRow(ctx, "UPDATE users SET name = $2 WHERE id = $1 RETURNING "+userColumns, userID, name))
		if err != nil {
			return DBError("rename user", err)
		}
		if before == name {
			return nil
		}
		return audit(ctx, tx, AuditEntry{Action: AuditUserUpdate, TargetType: "user", TargetID: u.ID, TargetName: u.Email,
			Detail: map[string]any{"changes": map[string]any{"name": map[string]any{"from": before, "to": name}}}})
	})
	return u, err
}

// ChangePassword replaces the password of an account that has one, when
// current is right, and signs out every other session of the user: the
// one with token keepToken stays. A wrong current password is invalid at
// field "current_password"; a new one the rules refuse at "password". An
// account without a password (single sign-on only) is a conflict: its
// password is the provider's business. Nothing about either password is
// audited beyond the fact of the change.
func (s *Store) ChangePassword(ctx context.Context, userID, current, password, keepToken string) error {
	if !attach.ValidID(userID) {
		return attach.NotFound("user")
	}
	var encoded string
	err := s.pool.QueryRow(ctx, "SELECT coalesce(password_hash, '') FROM users WHERE id = $1", userID).Scan(&encoded)
	if err != nil {
		return DBError("get user", err)
	}
	if encoded == "" {
		return attach.Errorf(attach.CodeConflict, "this account signs in through its identity provider and has no password here")
	}
	if len([]rune(current)) > MaxPasswordLen {
		current = string([]rune(current)[:MaxPasswordLen])
	}
	ok, _, err := s.pw.verify(ctx, encoded, current)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		return attach.Invalid("current_password", "is not your current password")
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.pw.hash(ctx, password)
	if err != nil {
		return err
	}
	keep, _ := tokenHashOf(keepToken)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var email string
		// Only if the hash is still the one checked: two changes at once
		// cannot both pass with the same old password.
		err := tx.QueryRow(ctx, "UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3 RETURNING email",
			userID, hash, encoded).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return attach.Invalid("current_password", "is not your current password")
		}
		if err != nil {
			return DBError("set password", err)
		}
		tag, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2", userID, keep)
		if err != nil {
			return DBError("end other sessions", err)
		}
		return audit(ctx, tx, AuditEntry{Action: AuditUserPassword, TargetType: "user", TargetID: userID, TargetName: email,
			Detail: map[string]any{"sessions_ended": tag.RowsAffected()}})
	})
}

// SessionInfo is one live session of a user, as the account page lists
// it. Ref names it (SessionRef) and is safe to put in a page: it cannot
// be used as the cookie's token.
type SessionInfo struct {
	Ref        string    `json:"ref"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
}

// ListUserSessions lists the live sessions of userID, the most recently
// used first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	if !attach.ValidID(userID) {
		return []SessionInfo{}, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT token_hash, created_at, last_seen_at, expires_at, user_agent, ip FROM console_sessions
		 WHERE user_id = $1 AND expires_at > now() ORDER BY last_seen_at DESC, created_at DESC`, userID)
	if err != nil {
		return nil, DBError("list sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SessionInfo, error) {
		var si SessionInfo
		var hash []byte
		err := r.Scan(&hash, &si.CreatedAt, &si.LastSeenAt, &si.ExpiresAt, &si.UserAgent, &si.IP)
		si.Ref = hex.EncodeToString(hash)
		return si, err
	})
	return list, DBError("list sessions", err)
}

// EndUserSession signs out the session of userID named by ref
// (SessionRef). A ref of another user's session, or of none, is not
// found. The ending is audited install-wide.
func (s *Store) EndUserSession(ctx context.Context, userID, ref string) error {
	hash, err := hex.DecodeString(ref)
	if err != nil || len(hash) != len(hashToken("")) || !attach.ValidID(userID) {
		return attach.NotFound("session")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx,
			`DELETE FROM console_sessions s USING users u
			 WHERE s.token_hash = $1 AND s.user_id = $2 AND u.id = s.user_id RETURNING u.email`, hash, userID).Scan(&email)
		if err != nil {
			return DBError("end session", err)
		}
		return audit(ctx, tx, AuditEntry{Action: AuditSessionEnd, TargetType: "user", TargetID: userID, TargetName: email,
			Detail: map[string]any{"sessions_ended": 1}})
	})
}

// EndOtherSessions signs out every session of userID but the one with
// token keepToken, and says how many ended.
func (s *Store) EndOtherSessions(ctx context.Context, userID, keepToken string) (int, error) {
	keep, ok := tokenHashOf(keepToken)
	if !ok || !attach.ValidID(userID) {
		return 0, attach.NotFound("session")
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE user_id = $1 AND token_hash <> $2", userID, keep)
		if err != nil {
			return DBError("end other sessions", err)
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		var email string
		if err := tx.QueryRow(ctx, "SELECT email FROM users WHERE id = $1", userID).Scan(&email); err != nil {
			return DBError("get user", err)
		}
		return audit(ctx, tx, AuditEntry{Action: AuditSessionEnd, TargetType: "user", TargetID: userID, TargetName: email,
			Detail: map[string]any{"sessions_ended": n}})
	})
	return int(n), err
}

// LeaveTeam takes userID out of teamID at their own request, audited in
// the team's log as member.leave. The last owner cannot leave
// (attach.CodeLastOwner); someone not a member is not found.
func (s *Store) LeaveTeam(ctx context.Context, teamID, userID string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(userID) {
		return attach.NotFound("member")
	}
	return s.dropMember(ctx, teamID, userID, AuditMemberLeave)
}
