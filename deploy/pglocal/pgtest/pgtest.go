// Package pgtest gives each test its own migrated Postgres database.
//
// One throwaway cluster serves a whole test binary: it is started on first
// use (pglocal, NoSync) and stopped by Main. A template database is migrated
// once; every test then gets a copy of it (CREATE DATABASE ... TEMPLATE),
// dropped when the test ends. Use it like this:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel() // the database is the test's own
//		pool := pgtest.New(t)
//		...
//	}
//
// Without the TestMain the tests still work; the server then stops only when
// the test binary exits (it is tied to its parent) and its folder stays in
// the temp dir.
//
// With ATTACH_TEST_DATABASE_URL set, no server is started: databases are made
// on that server instead, and its role needs the CREATEDB privilege.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/attach-dev/attach-gateway/deploy/pglocal"
	"github.com/attach-dev/attach-gateway/migrations"
)

// EnvDatabaseURL names an existing server to use instead of a private one.
const EnvDatabaseURL = "ATTACH_TEST_DATABASE_URL"

// installHint tells a developer how to get the server binaries.
const installHint = "install PostgreSQL with `make deps` (apt-get -o DPkg::Lock::Timeout=300 install -y postgresql) or set " + EnvDatabaseURL

var (
	setupOnce sync.Once
	setupErr  error
	adminDSN  string // a database on the server to run CREATE/DROP DATABASE from
	template  string // name of the migrated template database
	server    *pglocal.Server
	serverDir string
	counter   atomic.Int64
)

// Main runs the tests and then stops the cluster they shared.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the shared cluster, for a TestMain that runs its tests through
// another package's Main.
func Stop() {
	if server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := server.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop postgres: %v\n", err)
		}
		_ = os.RemoveAll(serverDir)
		server = nil
	}
}

// New returns a pool on a fresh database with every migration applied. The
// pool is closed and the database dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return connect(t, NewDSN(t))
}

// NewDSN makes a fresh migrated database and returns its DSN.
func NewDSN(t testing.TB) string {
	t.Helper()
	setup(t)
	return createDatabase(t, template)
}

// NewEmpty returns the DSN of a fresh database with no migrations applied,
// for testing the migrations themselves.
func NewEmpty(t testing.TB) string {
	t.Helper()
	setup(t)
	return createDatabase(t, "template0")
}

func connect(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func setup(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() { setupErr = start() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v\n(%s)", setupErr, installHint)
	}
}

func start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		adminDSN = u
	} else {
		dir, err := os.MkdirTemp("", "pgtest-")
		if err != nil {
			return fmt.Errorf("make cluster folder: %w", err)
		}
		srv, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, NoSync: true})
		if err != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("start a private postgres: %w", err)
		}
		server, serverDir, adminDSN = srv, dir, srv.DSN()
	}
	name, err := ensureTemplate(ctx)
	if err != nil {
		return err
	}
	template = name
	return nil
}

// ensureTemplate migrates a template database named after the migrations'
// content. Several test binaries may share one server (go test ./... with
// ATTACH_TEST_DATABASE_URL), so the work runs under an advisory lock, and the
// template gets its final name only once fully migrated.
func ensureTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "attach_tpl_" + sum
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", fmt.Errorf("lock template creation: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck // the session ends right after

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look for template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop unfinished template: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	dsn, err := withDatabase(adminDSN, building)
	if err != nil {
		return "", err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("parse template DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	err = migrations.UpDB(ctx, db)
	db.Close() // no session may stay on a template that is copied
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("name template: %w", err)
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// createDatabase copies from into a new database, dropped when t ends.
//
// Parallel tests copy the template at the same time, which Postgres allows:
// CREATE DATABASE takes a share lock on its source and fails only while a
// session is connected to the source, and none ever is (the template is
// migrated under another name and renamed once its sessions are closed;
// every copy runs from a session on the admin database).
func createDatabase(t testing.TB, from string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("pgtest: connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{from}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, name) })
	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

func dropDatabase(t testing.TB, name string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Errorf("pgtest: connect to drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	// FORCE ends sessions a test left open (a listener, a leaked conn).
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase points a DSN, URL or keyword/value form, at another database.
func withDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("pgtest: the database URL does not parse")
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form a later keyword overrides an earlier one.
	return dsn + " dbname=" + db, nil
}
