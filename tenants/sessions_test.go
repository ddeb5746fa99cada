package tenants

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ann@example.com")

	token, sess, err := s.CreateSession(ctx, u.ID, SessionInput{UserAgent: "Firefox/140", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q is not 32 bytes of base64url", token)
	}
	if sess.UserID != u.ID || len(sess.CSRF) != 43 || sess.CSRF == token || sess.UserAgent != "Firefox/140" || sess.IP != "192.0.2.1" {
		t.Fatalf("session = %+v", sess)
	}
	if d := sess.ExpiresAt.Sub(sess.CreatedAt); d != DefaultSessionTTL {
		t.Fatalf("lifetime = %v, want %v", d, DefaultSessionTTL)
	}
	var stored [][]byte
	rows, err := pool.Query(ctx, "SELECT token_hash FROM console_sessions")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h)
	}
	if sum := sha256.Sum256([]byte(token)); len(stored) != 1 || !bytes.Equal(stored[0], sum[:]) {
		t.Fatal("the stored token is not the token's SHA-256")
	}

	got, gotUser, err := s.GetSession(ctx, token)
	if err != nil || got.UserID != u.ID || got.CSRF != sess.CSRF || gotUser.ID != u.ID || gotUser.Email != u.Email {
		t.Fatalf("GetSession = %+v, %+v, %v", got, gotUser, err)
	}
	_, second, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil || second.CSRF == sess.CSRF {
		t.Fatalf("second session shares the CSRF token (%v)", err)
	}

	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("signed-out session: %v", err)
	}
	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
	for name, tok := range map[string]string{"empty": "", "garbage": "x", "unknown": strings.Repeat("B", 43)} {
		if _, _, err := s.GetSession(ctx, tok); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("GetSession(%s): %v", name, err)
		}
	}

	if _, _, err := s.CreateSession(ctx, "0190a1b2-0000-7000-8000-000000000000", SessionInput{}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("session of an unknown user: %v", err)
	}
	if _, _, err := s.CreateSession(ctx, u.ID, SessionInput{TTL: -time.Hour}); !isValidation(err, "ttl") {
		t.Fatalf("negative TTL: %v", err)
	}
	long, ls, err := s.CreateSession(ctx, u.ID, SessionInput{UserAgent: strings.Repeat("a", 5000), TTL: time.Hour, MaxAge: time.Minute})
	if err != nil || len(ls.UserAgent) != 512 {
		t.Fatalf("long user agent: %d bytes, %v", len(ls.UserAgent), err)
	}
	var maxEnd time.Time
	if err := pool.QueryRow(ctx, "SELECT max_expires_at FROM console_sessions WHERE token_hash = $1", hashToken(long)).Scan(&maxEnd); err != nil {
		t.Fatal(err)
	}
	if !maxEnd.Equal(ls.ExpiresAt) {
		t.Fatalf("a MaxAge shorter than the TTL was not raised to it: max %v, end %v", maxEnd, ls.ExpiresAt)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ann@example.com")
	expired, _, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", hashToken(expired)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, expired); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("expired session: %v, want not_found", err)
	}
	// Being stale for the touch does not bring an expired session back.
	if _, err := pool.Exec(ctx, "UPDATE console_sessions SET last_seen_at = now() - interval '1 hour' WHERE token_hash = $1", hashToken(expired)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, expired); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("expired stale session: %v", err)
	}
	n, err := s.DeleteExpiredSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, _, err := s.GetSession(ctx, live); err != nil {
		t.Fatalf("live session after the sweep: %v", err)
	}
}

func TestSessionSlidesWithinItsMaxAge(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ann@example.com")
	token, sess, err := s.CreateSession(ctx, u.ID, SessionInput{TTL: time.Hour, MaxAge: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := hashToken(token)

	// Used again within the minute: nothing is written.
	if _, err := pool.Exec(ctx, "UPDATE console_sessions SET last_seen_at = now() - interval '30 seconds', expires_at = now() + interval '10 minutes' WHERE token_hash = $1", h); err != nil {
		t.Fatal(err)
	}
	var seenBefore time.Time
	if err := pool.QueryRow(ctx, "SELECT last_seen_at FROM console_sessions WHERE token_hash = $1", h).Scan(&seenBefore); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.GetSession(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(seenBefore) || got.ExpiresAt.Sub(seenBefore) > 11*time.Minute {
		t.Fatalf("a use within the minute moved the session: seen %v -> %v, ends %v", seenBefore, got.LastSeenAt, got.ExpiresAt)
	}

	// Used after more than a minute: the end moves an hour ahead.
	if _, err := pool.Exec(ctx, "UPDATE console_sessions SET last_seen_at = now() - interval '5 minutes' WHERE token_hash = $1", h); err != nil {
		t.Fatal(err)
	}
	got, _, err = s.GetSession(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.ExpiresAt.Sub(got.LastSeenAt); d != time.Hour {
		t.Fatalf("after a later use the session ends %v after it, want 1h", d)
	}
	if !got.LastSeenAt.After(seenBefore) {
		t.Fatal("last use not recorded")
	}

	// Never past the max age, however it is used.
	if _, err := pool.Exec(ctx, `UPDATE console_sessions SET last_seen_at = now() - interval '5 minutes',
		max_expires_at = now() + interval '20 minutes' WHERE token_hash = $1`, h); err != nil {
		t.Fatal(err)
	}
	var maxEnd time.Time
	if err := pool.QueryRow(ctx, "SELECT max_expires_at FROM console_sessions WHERE token_hash = $1", h).Scan(&maxEnd); err != nil {
		t.Fatal(err)
	}
	got, _, err = s.GetSession(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.Equal(maxEnd) {
		t.Fatalf("session ends %v, want its max age %v", got.ExpiresAt, maxEnd)
	}
	if !got.CreatedAt.Equal(sess.CreatedAt) {
		t.Fatal("creation time changed")
	}
}

func TestDeleteUserSessions(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	a := mustUser(t, s, "a@example.com")
	b := mustUser(t, s, "b@example.com")
	a1, _, _ := s.CreateSession(ctx, a.ID, SessionInput{})
	a2, _, _ := s.CreateSession(ctx, a.ID, SessionInput{})
	b1, _, err := s.CreateSession(ctx, b.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a1, a2} {
		if _, _, err := s.GetSession(ctx, tok); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Fatalf("a's session survived: %v", err)
		}
	}
	if _, _, err := s.GetSession(ctx, b1); err != nil {
		t.Fatalf("b's session went too: %v", err)
	}
}
