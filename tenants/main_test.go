package tenants

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{7}, SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testArgon2Params make password hashing cheap, so tests that create users
// stay fast. TestPasswordHashFormat checks the real defaults.
var testArgon2Params = argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestStore(t testing.TB) (*Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.New(t)
	s := NewStore(pool, testSealer(t))
	s.pw = newPasswordHasher(testArgon2Params)
	return s, pool
}

// newTeamStore is the fixture most store tests start from: a store on a
// fresh database and its pool, a context bounded by the test, and one team
// made with slug.
func newTeamStore(t testing.TB, slug string) (*Store, *pgxpool.Pool, context.Context, attach.Team) {
	t.Helper()
	s, pool := newTestStore(t)
	return s, pool, testCtx(t), mustTeam(t, s, slug)
}

const testPassword = "correct horse battery staple"

func mustUser(t testing.TB, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateLocalUser(testCtx(t), UserInput{Email: email, Name: "User " + email, Password: testPassword})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// actorCtx is a test context whose changes are audited as made by u.
func actorCtx(t testing.TB, u User) context.Context {
	t.Helper()
	return WithActor(testCtx(t), Actor{ID: u.ID, Name: u.Email, IP: "192.0.2.7"})
}

// isValidation tells whether err is a validation error about field.
func isValidation(err error, field string) bool {
	e := attach.AsError(err)
	return e != nil && e.Code == attach.CodeInvalid && e.Field == field
}

// reasonOf is the Reason of err, such as why a key is refused.
func reasonOf(err error) string {
	if e := attach.AsError(err); e != nil {
		return e.Reason
	}
	return ""
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustTeam(t testing.TB, s *Store, slug string) attach.Team {
	t.Helper()
	team, err := s.CreateTeam(testCtx(t), TeamInput{Slug: slug, Name: "Team " + slug})
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	return team
}

func ptr[T any](v T) *T { return &v }

func testLogger(b *testkit.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
