package tenants

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

func TestSetupTokenIsOneTime(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	in := UserInput{Email: "first@example.com", Name: "First", Password: testPassword}

	token, err := s.CreateSetupToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 {
		t.Fatalf("token %q", token)
	}
	var stored int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM setup_tokens WHERE token_hash = $1", hashToken(token)).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("token not stored by its hash (%d, %v)", stored, err)
	}

	// Bad input does not spend the token.
	if _, err := s.UseSetupToken(ctx, token, UserInput{Email: "first@example.com", Name: "First", Password: "short"}); !isValidation(err, "password") {
		t.Fatalf("bad password: %v", err)
	}
	u, err := s.UseSetupToken(ctx, token, in)
	if err != nil || u.Email != in.Email || !u.HasPassword {
		t.Fatalf("UseSetupToken = %+v, %v", u, err)
	}
	if _, err := s.AuthenticatePassword(ctx, in.Email, in.Password); err != nil {
		t.Fatalf("first user cannot sign in: %v", err)
	}
	if _, err := s.UseSetupToken(ctx, token, UserInput{Email: "second@example.com", Name: "Second", Password: testPassword}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("used token: %v, want not_found", err)
	}

	// A fresh token once a user exists.
	late, err := s.CreateSetupToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseSetupToken(ctx, late, UserInput{Email: "second@example.com", Name: "Second", Password: testPassword}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("setup with users already: %v, want conflict", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users", n)
	}

	for name, tok := range map[string]string{"empty": "", "garbage": "nope", "unknown": strings.Repeat("C", 43)} {
		if _, err := s.UseSetupToken(ctx, tok, in); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("%s token: %v", name, err)
		}
	}
	for _, ttl := range []time.Duration{-time.Hour, time.Second, MaxSetupTTL + time.Hour} {
		if _, err := s.CreateSetupToken(ctx, ttl); !isValidation(err, "ttl") {
			t.Errorf("ttl %v: %v", ttl, err)
		}
	}
}

func TestSetupTokenExpires(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	token, err := s.CreateSetupToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE setup_tokens SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseSetupToken(ctx, token, UserInput{Email: "a@example.com", Name: "A", Password: testPassword}); attach.ErrorCode(err) != attach.CodeExpired {
		t.Fatalf("expired token: %v, want expired", err)
	}
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Fatal("an expired token made a user")
	}
}

func TestSetupTokenRaceOnOneToken(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	token, err := s.CreateSetupToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			email := string(rune('a'+i)) + "@example.com"
			_, errs[i] = s.UseSetupToken(ctx, token, UserInput{Email: email, Name: "U", Password: testPassword})
		}()
	}
	close(start)
	wg.Wait()
	checkOneWinner(t, s, errs, attach.CodeNotFound)
}

// Two setup links spent at once, arranged so that without serialisation
// both would see "no users yet": the first is held just before its insert
// (an uncommitted row with the same email blocks it) while the second runs.
func TestSetupTokenRaceOnTwoTokens(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	tokens := make([]string, 2)
	for i := range tokens {
		tok, err := s.CreateSetupToken(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok
	}
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx) //nolint:errcheck // rolled back below
	if _, err := blocker.Exec(ctx, "INSERT INTO users (id, email, name) VALUES (gen_random_uuid(), 'a@example.com', 'blocker')"); err != nil {
		t.Fatal(err)
	}

	errs := make([]error, 2)
	done := make([]chan struct{}, 2)
	use := func(i int) {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			email := string(rune('a'+i)) + "@example.com"
			_, errs[i] = s.UseSetupToken(ctx, tokens[i], UserInput{Email: email, Name: "U", Password: testPassword})
		}()
	}
	use(0)
	waitForLockWaiters(t, pool, 1, nil) // the first is stuck on its insert
	use(1)
	waitForLockWaiters(t, pool, 2, done[1]) // the second waits too, or has finished
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	<-done[0]
	<-done[1]
	checkOneWinner(t, s, errs, attach.CodeConflict)
}

// waitForLockWaiters waits until n sessions of the test database wait on a
// lock, or until finished closes.
func waitForLockWaiters(t *testing.T, pool *pgxpool.Pool, n int, finished <-chan struct{}) {
	t.Helper()
	ctx := testCtx(t)
	for {
		var waiting int
		err := pool.QueryRow(ctx,
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		select {
		case <-finished:
			return
		case <-ctx.Done():
			t.Fatalf("%d sessions waiting on a lock, want %d", waiting, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func checkOneWinner(t *testing.T, s *Store, errs []error, loserCode string) {
	t.Helper()
	won, lost := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case attach.ErrorCode(err) == loserCode:
			lost++
		default:
			t.Fatal(err)
		}
	}
	n, err := s.CountUsers(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || lost != 1 || n != 1 {
		t.Fatalf("%d won, %d lost, %d users; want 1, 1, 1 (errors: %v)", won, lost, n, errs)
	}
}

// The setup account owns the default team, in the same transaction, and
// the membership is audited; a team that does not exist is no failure.
func TestSetupTokenOwningTheDefaultTeam(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := WithActor(testCtx(t), Actor{Name: "setup link", IP: "127.0.0.1"})
	team, err := s.CreateTeam(ctx, TeamInput{Slug: "default", Name: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateSetupToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.UseSetupTokenOwning(ctx, token, UserInput{Email: "op@example.com", Name: "Op", Password: testPassword, InstallAdmin: true}, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !u.InstallAdmin {
		t.Error("the setup account is not an install administrator")
	}
	ms, err := s.TeamsOf(ctx, u.ID)
	if err != nil || len(ms) != 1 || ms[0].Team.ID != team.ID || ms[0].Role != RoleOwner {
		t.Fatalf("memberships = %+v, %v; want owner of default", ms, err)
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 10})
	if err != nil || len(entries) == 0 || entries[0].Action != AuditMemberAdd || entries[0].TargetID != u.ID {
		t.Errorf("audit = %+v, %v; want the owner's membership", entries, err)
	}
}

func TestSetupTokenOwningNoSuchTeam(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	token, err := s.CreateSetupToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.UseSetupTokenOwning(ctx, token, UserInput{Email: "op@example.com", Name: "Op", Password: testPassword}, "nowhere")
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := s.TeamsOf(ctx, u.ID); err != nil || len(ms) != 0 {
		t.Errorf("memberships = %+v, %v; want none", ms, err)
	}
}
