package pglocal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func startT(t *testing.T, dir string) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func stopT(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func execSQL(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryString(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// startKeeping starts a server on dir and stores value in a table kept.
func startKeeping(t *testing.T, dir, value string) *Server {
	t.Helper()
	s := startT(t, dir)
	execSQL(t, s.DSN(), "CREATE TABLE kept (v text)")
	execSQL(t, s.DSN(), "INSERT INTO kept VALUES ($1)", value)
	return s
}

// wantKept starts a server on dir again, checks that the table kept still
// holds value after what happened, and stops the server.
func wantKept(t *testing.T, dir, value, after string) {
	t.Helper()
	s := startT(t, dir)
	if got := queryString(t, s.DSN(), "SELECT v FROM kept"); got != value {
		t.Fatalf("after %s got %q, want %s", after, got, value)
	}
	stopT(t, s)
}

func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startKeeping(t, dir, "hello")
	if got := queryString(t, s.DSN(), "SELECT current_user || '@' || current_database()"); got != "app@app" {
		t.Fatalf("connected as %q, want app@app", got)
	}
	stopT(t, s)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	wantKept(t, dir, "hello", "restart")
}

func TestSecondStartOnSameDirFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startT(t, dir)
	_, err := Start(context.Background(), Options{Dir: dir, NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "already in use") || !errors.Is(err, ErrInUse) {
		t.Fatalf("second Start: err = %v, want an 'already in use' error", err)
	}
	// The first server is untouched.
	if got := queryString(t, s.DSN(), "SELECT 'alive'"); got != "alive" {
		t.Fatalf("first server answered %q", got)
	}
	// Another command reaches it through RunningDSN instead.
	dsn, err := RunningDSN(dir)
	if err != nil {
		t.Fatalf("RunningDSN: %v", err)
	}
	if got := queryString(t, dsn, "SELECT 'reached'"); got != "reached" {
		t.Fatalf("through RunningDSN the server answered %q", got)
	}
	stopT(t, s)
}

// A postmaster that dies (killed: no shutdown checkpoint, its
// postmaster.pid left behind) is restarted on the same folder and socket:
// the same DSN connects again, to the data written before, after crash
// recovery. After Stop, nothing is restarted.
func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startKeeping(t, dir, "42")
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	killed := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	deadline := time.Now().Add(time.Minute)
	for s.Restarts() < 1 || !s.Up() {
		if time.Now().After(deadline) {
			t.Fatal("the killed postgres was not restarted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("restarted %v after the kill", time.Since(killed).Round(time.Millisecond))
	if got := queryString(t, s.DSN(), "SELECT v FROM kept"); got != "42" {
		t.Fatalf("after the restart got %q, want 42", got)
	}

	stopT(t, s)
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	s.mu.Lock()
	last := s.exited
	s.mu.Unlock()
	select {
	case <-last:
	default:
		t.Fatal("the server process still runs after Stop returned")
	}
	if s.Up() {
		t.Fatal("Up after Stop")
	}
}

func TestLongDirUsesShortSocket(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-folder-name-", 6))
	s := startT(t, dir)
	if !s.tmpSock || len(filepath.Join(s.sockDir, socketName)) > maxSocketPath {
		t.Fatalf("socket dir %q not shortened", s.sockDir)
	}
	if got := queryString(t, s.DSN(), "SELECT 'ok'"); got != "ok" {
		t.Fatalf("got %q", got)
	}
	sock := s.sockDir
	stopT(t, s)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("temporary socket dir %s not removed: %v", sock, err)
	}
}

func TestMissingDirOption(t *testing.T) {
	t.Parallel()
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

func TestHasServer(t *testing.T) {
	t.Parallel()
	if hasServer(t.TempDir()) {
		t.Fatal("an empty folder was taken for a PostgreSQL installation")
	}
	if ErrNoBinaries.Error() != "PostgreSQL server binaries not found; install the postgresql package" {
		t.Fatalf("message changed: %q", ErrNoBinaries)
	}
}

func TestNotAClusterIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "stray"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir, NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "no PG_VERSION") {
		t.Fatalf("err = %v, want a refusal to touch a non-cluster folder", err)
	}
}
