package migrations_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func pool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// migrated gives a test its own database with every migration applied, a
// pool on it, and a goose provider to take the schema down and up again.
func migrated(t *testing.T) (context.Context, *pgxpool.Pool, *goose.Provider) {
	t.Helper()
	ctx := ctxT(t)
	dsn := pgtest.NewEmpty(t)
	if err := migrations.Up(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	p := pool(t, dsn)
	prov, err := goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(p), migrations.FS(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, p, prov
}

func TestUpFromEmptyThenNothingPending(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dsn := pgtest.NewEmpty(t)
	p := pool(t, dsn)

	n, err := migrations.Pending(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("fresh database: %d pending, want at least 1", n)
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	if n, err := migrations.Pending(ctx, p); err != nil || n != 0 {
		t.Fatalf("after Up: %d pending, %v", n, err)
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	for _, table := range []string{"teams", "issuers", "engines", "api_keys"} {
		var ok bool
		if err := p.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

func TestConcurrentUpAppliesOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dsn := pgtest.NewEmpty(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = migrations.Up(ctx, dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Up #%d: %v", i, err)
		}
	}
	p := pool(t, dsn)
	var applied, distinct int
	if err := p.QueryRow(ctx, "SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Fatalf("%d migration rows for %d versions: some applied twice", applied, distinct)
	}
}

func TestNotifyTrigger(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p := pgtest.New(t)
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN attach_config"); err != nil {
		t.Fatal(err)
	}
	const team = "0190a1b2-0000-7000-8000-000000000001"
	steps := []string{
		"INSERT INTO teams (id, slug, name) VALUES ('" + team + "', 'a', 'A')",
		"INSERT INTO engines (id, team_id, name, dialect, base_url) VALUES (gen_random_uuid(), '" + team + "', 'e', 'ollama', 'http://x')",
		"INSERT INTO api_keys (id, team_id, name, prefix, hash) VALUES ('0190a1b2-0000-7000-8000-0000000000aa', '" + team + "', 'k', 'p', '\\x00')",
		"UPDATE api_keys SET last_used_at = now()", // silent
		"UPDATE api_keys SET revoked_at = now()",
		"DELETE FROM teams",
	}
	for _, sql := range steps {
		if _, err := p.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// insert team, insert engine, insert key, revoke, delete (the cascade's
	// identical notices fold into one): five notices, none for last use.
	for i := range 5 {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("notice %d: %v", i, err)
		}
		if n.Channel != "attach_config" || n.Payload != team {
			t.Fatalf("notice %d = %s %q", i, n.Channel, n.Payload)
		}
	}
	if _, err := p.Exec(ctx, "SELECT pg_notify('attach_config', 'end')"); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Conn().WaitForNotification(ctx)
	if err != nil || n.Payload != "end" {
		t.Fatalf("extra notice before the end marker: %+v, %v", n, err)
	}
}
