package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/app"
	"github.com/attach-dev/attach-gateway/deploy/pglocal"
	"github.com/attach-dev/attach-gateway/migrations"
)

// openDatabase reaches the gateway's Postgres for a shell command:
// DATABASE_URL when set; else the embedded Postgres, started for the
// command, or the one a running `attach serve` owns. The schema is migrated.
// where names the database for the person at the terminal; close releases
// everything.
func openDatabase(ctx context.Context, cfg app.Config, log *slog.Logger) (pool *pgxpool.Pool, where string, close func(), err error) {
	dsn := cfg.DatabaseURL
	stop := func() {}
	if dsn != "" {
		if err := app.CheckDatabase(ctx, dsn); err != nil {
			return nil, "", nil, err
		}
		where = "DATABASE_URL, " + app.DescribeDatabase(dsn)
	} else {
		dir := filepath.Join(cfg.DataDir, "postgres")
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs // the message names the folder wherever it is read
		}
		pg, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Logger: log})
		switch {
		case errors.Is(err, pglocal.ErrInUse):
			if dsn, err = pglocal.RunningDSN(dir); err != nil {
				return nil, "", nil, err
			}
			where = "the embedded Postgres of the running gateway in " + dir
		case err != nil:
			return nil, "", nil, fmt.Errorf("start embedded postgres: %w", err)
		default:
			dsn = pg.DSN()
			where = "the embedded Postgres in " + dir
			stop = func() { _ = pg.Stop(context.Background()) }
		}
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		stop()
		return nil, "", nil, err
	}
	pool, err = app.NewPool(ctx, dsn)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return pool, where, func() { pool.Close(); stop() }, nil
}
