package pgtest

import (
	"context"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestEachTestGetsItsOwnMigratedDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	t.Run("first", func(t *testing.T) {
		p := New(t)
		if err := p.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Exec(ctx, "INSERT INTO teams (id, slug, name) VALUES (gen_random_uuid(), 'x', 'X')"); err != nil {
			t.Fatalf("migrated schema missing: %v", err)
		}
	})
	p := New(t)
	var other string
	var teams int
	if err := p.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM teams)").Scan(&other, &teams); err != nil {
		t.Fatal(err)
	}
	if other == name || teams != 0 {
		t.Fatalf("databases shared: %s and %s, %d teams", name, other, teams)
	}
	var exists bool
	if err := p.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s of a finished test was not dropped", name)
	}
}

func TestParallelDatabases(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run("p", func(t *testing.T) {
			t.Parallel()
			p := New(t)
			if _, err := p.Exec(context.Background(), "SELECT $1::int", i); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewEmptyHasNoSchema(t *testing.T) {
	t.Parallel()
	dsn := NewEmpty(t)
	p := connect(t, dsn)
	var ok bool
	if err := p.QueryRow(context.Background(), "SELECT to_regclass('teams') IS NULL").Scan(&ok); err != nil || !ok {
		t.Fatalf("empty database has a teams table (%v)", err)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"host=/tmp/x user=app dbname=app":                   "host=/tmp/x user=app dbname=app dbname=t_1",
		"postgres://u:p@127.0.0.1:5432/app?sslmode=disable": "postgres://u:p@127.0.0.1:5432/t_1?sslmode=disable",
		"postgresql://127.0.0.1/":                           "postgresql://127.0.0.1/t_1",
	}
	for in, want := range cases {
		got, err := withDatabase(in, "t_1")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
