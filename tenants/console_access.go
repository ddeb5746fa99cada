package tenants

import (
	"context"
	"encoding/hex"

	attach "github.com/attach-dev/attach-gateway"
)

// SessionRef names the console session behind a cookie's token without
// being able to stand for it: the hex of the token's stored hash. Console
// tokens carry it, so the gateway can check on each call that the session
// is still live. False when token cannot be one the store made.
func SessionRef(token string) (string, bool) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return "", false
	}
	return hex.EncodeToString(hash), true
}

// ConsoleAccess is the role userID holds in teamID through the live
// console session ref (SessionRef). Not found when the session ended
// (signed out, expired, every session of the user ended), the user is no
// longer a member or the account is locked: a console token then stops working on its next call,
// on every replica, since the answer comes from Postgres.
func (s *Store) ConsoleAccess(ctx context.Context, ref, teamID, userID string) (Role, error) {
	hash, err := hex.DecodeString(ref)
	if err != nil || len(hash) != len(hashToken("")) || !attach.ValidID(teamID) || !attach.ValidID(userID) {
		return "", attach.NotFound("console session")
	}
	var r Role
	err = s.pool.QueryRow(ctx,
		`SELECT m.role FROM console_sessions s
		 JOIN memberships m ON m.user_id = s.user_id AND m.team_id = $3
		 JOIN users u ON u.id = s.user_id AND u.locked_at IS NULL
		 WHERE s.token_hash = $1 AND s.user_id = $2 AND s.expires_at > now()`, hash, userID, teamID).Scan(&r)
	return r, DBError("check console session", err)
}
