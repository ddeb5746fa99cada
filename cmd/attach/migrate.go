package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/attach-dev/attach-gateway/deploy/pglocal"
	"github.com/attach-dev/attach-gateway/migrations"
)

const migrateHelp = `Usage: attach migrate

Applies every pending database migration to DATABASE_URL (or, without it, to
the embedded Postgres in ATTACH_DATA_DIR) and exits. Safe to run while other
replicas start: migrations take a Postgres advisory lock. 'attach serve' also
migrates at start-up.
`

func migrate(args []string, stdout, stderr io.Writer) error {
	cfg, err := configure("migrate", migrateHelp, args, stdout, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signalContext()
	defer stop()

	dsn := cfg.DatabaseURL
	if dsn == "" {
		pg, err := pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Logger: log})
		if err != nil {
			return fmt.Errorf("start embedded postgres: %w", err)
		}
		defer pg.Stop(context.Background())
		dsn = pg.DSN()
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
