package tenants

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/app/pglocal/pgtest"
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

func newTestStore(t testing.TB) (*Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.New(t)
	return NewStore(pool, testSealer(t)), pool
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustTeam(t testing.TB, s *Store, slug string) Team {
	t.Helper()
	team, err := s.CreateTeam(testCtx(t), TeamInput{Slug: slug, Name: "Team " + slug})
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	return team
}

func ptr[T any](v T) *T { return &v }

// logBuffer is a concurrency-safe log sink for tests that inspect logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
