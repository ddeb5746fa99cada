package tenants

import (
	"context"

	attach "github.com/attach-dev/attach-gateway"
)

// The ID token of a single sign-on session is kept, sealed, so that
// signing out can also end the session at the provider (OpenID Connect
// RP-initiated logout, id_token_hint). It is never logged or shown.

// maxIDTokenLen bounds the ID token kept with a session.
const maxIDTokenLen = 16 << 10

// KeepSessionIDToken stores idToken with the session of token, sealed
// with the store's key and bound to the session. Without a sealer nothing
// is stored (false): signing out then ends the local session only.
func (s *Store) KeepSessionIDToken(ctx context.Context, token, idToken string) (bool, error) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return false, attach.NotFound("session")
	}
	if s.sealer == nil || idToken == "" || len(idToken) > maxIDTokenLen {
		return false, nil
	}
	sealed, err := s.sealer.Seal([]byte(idToken), hash)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, "UPDATE console_sessions SET id_token_sealed = $2 WHERE token_hash = $1", hash, sealed)
	if err != nil {
		return false, DBError("keep session id token", err)
	}
	if tag.RowsAffected() == 0 {
		return false, attach.NotFound("session")
	}
	return true, nil
}

// SessionIDToken is the ID token kept with the session of token, or ""
// when none was (a password sign-in, no sealer) or it no longer opens.
func (s *Store) SessionIDToken(ctx context.Context, token string) (string, error) {
	hash, ok := tokenHashOf(token)
	if !ok || s.sealer == nil {
		return "", nil
	}
	var sealed []byte
	err := s.pool.QueryRow(ctx, "SELECT id_token_sealed FROM console_sessions WHERE token_hash = $1", hash).Scan(&sealed)
	if attach.ErrorCode(DBError("", err)) == attach.CodeNotFound {
		return "", nil
	}
	if err != nil {
		return "", DBError("get session id token", err)
	}
	if len(sealed) == 0 {
		return "", nil
	}
	plain, err := s.sealer.Open(sealed, hash)
	if err != nil {
		return "", nil // a rotated key: sign out locally
	}
	return string(plain), nil
}
