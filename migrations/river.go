package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// riverLockKey is the advisory lock replicas take while they apply the job
// queue's schema ("attach-river" in ASCII): River's migrator does not lock.
const riverLockKey = 0x6174746163682d72

// upRiver applies the migrations of the job queue (River's own schema, at
// the version go.mod pins) after the gateway's: one step for operators, so
// every place that migrates the gateway migrates the queue too.
func upRiver(ctx context.Context, db *sql.DB) error {
	m, err := riverMigrator(db)
	if err != nil {
		return err
	}
	// The lock is held on one connection while the migrator works through
	// the pool: another replica waits for it before looking at the schema.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(riverLockKey)); err != nil {
		return fmt.Errorf("lock job queue migrations: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(riverLockKey))
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("apply job queue migrations: %w", err)
	}
	return nil
}

// riverPending counts the job queue's migrations not applied yet.
func riverPending(ctx context.Context, db *sql.DB) (int, error) {
	m, err := riverMigrator(db)
	if err != nil {
		return 0, err
	}
	done, err := m.ExistingVersions(ctx)
	if err != nil {
		// Before the first migration River's version table does not exist.
		var exists bool
		if qerr := db.QueryRowContext(ctx, "SELECT to_regclass('river_migration') IS NOT NULL").Scan(&exists); qerr == nil && !exists {
			return len(m.AllVersions()), nil
		}
		return 0, fmt.Errorf("read job queue migration status: %w", err)
	}
	return len(m.AllVersions()) - len(done), nil
}

func riverMigrator(db *sql.DB) (*rivermigrate.Migrator[*sql.Tx], error) {
	m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
	if err != nil {
		return nil, fmt.Errorf("load job queue migrations: %w", err)
	}
	return m, nil
}
