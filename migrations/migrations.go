// Package migrations holds the gateway's SQL schema as embedded goose
// migrations and applies them, then the job queue's (River's own
// migrations). Up is safe to run from several replicas at
// once: a Postgres advisory lock lets one apply while the others wait.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS is the embedded migration files, for tools that want to read them.
func FS() embed.FS { return files }

// Up applies every pending migration to the database at dsn.
func Up(ctx context.Context, dsn string) error {
	db, err := open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return UpDB(ctx, db)
}

// UpDB applies every pending migration through db.
func UpDB(ctx context.Context, db *sql.DB) error {
	p, err := provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return upRiver(ctx, db)
}

// Pending counts the migrations not applied yet, for readiness checks. It
// borrows a connection from pool and leaves the pool open.
func Pending(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return PendingDB(ctx, db)
}

// PendingDB counts the migrations not applied yet through db.
func PendingDB(ctx context.Context, db *sql.DB) (int, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	status, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("read migration status: %w", err)
	}
	n, err := riverPending(ctx, db)
	if err != nil {
		return 0, err
	}
	for _, s := range status {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

func open(dsn string) (*sql.DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message does not repeat the DSN, which may hold a password.
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	return stdlib.OpenDB(*cfg.ConnConfig), nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	// Poll the lock every second (goose's default is every 5 s) for up to
	// 10 minutes: a replica that starts while another migrates waits its turn.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}
