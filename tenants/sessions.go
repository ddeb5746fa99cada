package tenants

import (
	"context"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Session is a signed-in console browser. Its token lives in a cookie and
// only the token's SHA-256 is stored; CSRF is the value forms must send
// back.
type Session struct {
	UserID     string    `json:"user_id"`
	CSRF       string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	// Groups are the identity provider's groups of a single sign-on
	// session, as its ID token said at sign-in; empty for a password one.
	Groups []string `json:"groups,omitempty"`
}

// SessionInput describes a new session.
type SessionInput struct {
	UserAgent string
	IP        string
	// Groups are the provider's groups of a single sign-on (at most
	// MaxSessionGroups names of at most 256 bytes; the rest are dropped).
	Groups []string
	// TTL is how long the session lives without being used; each use moves
	// its end forward again. 0: DefaultSessionTTL.
	TTL time.Duration
	// MaxAge bounds the session however much it is used. 0:
	// DefaultSessionMaxAge. Never shorter than TTL.
	MaxAge time.Duration
}

// Session lifetimes.
const (
	DefaultSessionTTL    = 24 * time.Hour
	DefaultSessionMaxAge = 7 * 24 * time.Hour
	// sessionTouchEvery limits the writes a busy session causes: its last
	// use is recorded (and its end moved) at most this often.
	sessionTouchEvery = time.Minute
)

func (in SessionInput) normalize() (SessionInput, error) {
	switch {
	case in.TTL == 0:
		in.TTL = DefaultSessionTTL
	case in.TTL < time.Minute || in.TTL > 366*24*time.Hour:
		return in, attach.Invalid("ttl", "must be from a minute to a year")
	}
	switch {
	case in.MaxAge == 0:
		in.MaxAge = max(DefaultSessionMaxAge, in.TTL)
	case in.MaxAge < 0 || in.MaxAge > 366*24*time.Hour:
		return in, attach.Invalid("max_age", "must be at most a year")
	case in.MaxAge < in.TTL:
		in.MaxAge = in.TTL
	}
	in.UserAgent = attach.CutUTF8(strings.ToValidUTF8(in.UserAgent, ""), 512)
	in.IP = attach.CutUTF8(in.IP, 100)
	in.Groups = boundGroups(in.Groups)
	return in, nil
}

const sessionColumns = "s.user_id, s.csrf, s.created_at, s.expires_at, s.last_seen_at, s.user_agent, s.ip, s.idp_groups"

func sessionDest(s *Session) []any {
	return []any{&s.UserID, &s.CSRF, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt, &s.UserAgent, &s.IP, &s.Groups}
}

// CreateSession signs userID in and returns the session's token (the only
// copy, for the cookie) and the session.
func (s *Store) CreateSession(ctx context.Context, userID string, in SessionInput) (string, Session, error) {
	in, err := in.normalize()
	if err != nil {
		return "", Session{}, err
	}
	if !attach.ValidID(userID) {
		return "", Session{}, attach.NotFound("user")
	}
	token, hash, err := newToken()
	if err != nil {
		return "", Session{}, err
	}
	csrf, _, err := newToken()
	if err != nil {
		return "", Session{}, err
	}
	var sess Session
	err = s.pool.QueryRow(ctx,
		`INSERT INTO console_sessions AS s (token_hash, user_id, csrf, expires_at, idle_timeout, max_expires_at, user_agent, ip, idp_groups)
		 VALUES ($1, $2, $3, now() + $4::float8 * interval '1 second', $4::float8 * interval '1 second',
		         now() + $5::float8 * interval '1 second', $6, $7, $8)
		 RETURNING `+sessionColumns,
		hash, userID, csrf, in.TTL.Seconds(), in.MaxAge.Seconds(), in.UserAgent, in.IP, in.Groups).Scan(sessionDest(&sess)...)
	if err != nil {
		return "", Session{}, DBError("create session", err)
	}
	return token, sess, nil
}

// GetSession finds the live session behind a cookie's token, and its user.
// An unknown or expired token is not found. Using a session keeps it
// alive: at most once a minute its last use is recorded and its end moved
// to TTL from now, never past its MaxAge.
func (s *Store) GetSession(ctx context.Context, token string) (Session, User, error) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return Session{}, User{}, attach.NotFound("session")
	}
	var sess Session
	var u User
	var stale bool
	dest := append(sessionDest(&sess), userDest(&u)...)
	dest = append(dest, &stale)
	// A locked account's sessions are ended when it is locked; the check
	// here also covers a sign-in that raced with the lock.
	err := s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+`, u.id, u.email, u.name, u.password_hash IS NOT NULL, coalesce(u.oidc_issuer, ''),
		        u.created_at, u.last_sign_in_at, u.email_verified, u.install_admin, u.locked_at,
		        s.last_seen_at < now() - $2::float8 * interval '1 second'
		 FROM console_sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.token_hash = $1 AND s.expires_at > now() AND u.locked_at IS NULL`, hash, sessionTouchEvery.Seconds()).Scan(dest...)
	if err != nil {
		return Session{}, User{}, DBError("get session", err)
	}
	if stale {
		err := s.pool.QueryRow(ctx,
			`UPDATE console_sessions SET last_seen_at = now(), expires_at = least(now() + idle_timeout, max_expires_at)
			 WHERE token_hash = $1 AND expires_at > now() RETURNING last_seen_at, expires_at`, hash).Scan(&sess.LastSeenAt, &sess.ExpiresAt)
		if err != nil { // signed out or expired in between
			return Session{}, User{}, DBError("get session", err)
		}
	}
	return sess, u, nil
}

// DeleteSession signs a session out. An unknown token is not an error:
// signing out twice is harmless.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	hash, ok := tokenHashOf(token)
	if !ok {
		return nil
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM console_sessions WHERE token_hash = $1", hash)
	return DBError("delete session", err)
}

// DeleteUserSessions signs a user out everywhere, after a password change
// or when the account is compromised.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if !attach.ValidID(userID) {
		return nil
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM console_sessions WHERE user_id = $1", userID)
	return DBError("delete user sessions", err)
}

// DeleteExpiredSessions removes sessions past their end and says how many;
// a background job calls it now and then. Expired sessions are refused
// anyway; this only keeps the table small.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM console_sessions WHERE expires_at <= now()")
	if err != nil {
		return 0, DBError("delete expired sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
