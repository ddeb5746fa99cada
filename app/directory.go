package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/tenants"
)

// loadDirectory makes the team directory and loads every team into it. The
// caller keeps it current with Run.
func loadDirectory(ctx context.Context, pool *pgxpool.Pool, sealer *tenants.Sealer, log *slog.Logger) (*tenants.Directory, error) {
	dir := tenants.NewDirectory(pool, sealer, log)
	if err := dir.Load(ctx); err != nil {
		return nil, fmt.Errorf("load teams: %w", err)
	}
	return dir, nil
}

// LoadDirectory is the team directory of a process that serves no requests
// (attach worker): its engines compute the teams' vectors. cfg's secret key
// must be loaded. The caller keeps it current with Run.
func LoadDirectory(ctx context.Context, cfg Config, pool *pgxpool.Pool, log *slog.Logger) (*tenants.Directory, error) {
	sealer, err := tenants.NewSealer(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return loadDirectory(ctx, pool, sealer, log)
}
