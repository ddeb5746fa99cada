package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/tenants"
)

// loadDirectory makes the team directory and loads every team into it. The
// caller keeps it current with its Handler.
func loadDirectory(ctx context.Context, pool *pgxpool.Pool, sealer *tenants.Sealer, log *slog.Logger) (*tenants.Directory, error) {
	dir := tenants.NewDirectory(pool, sealer, log)
	if err := dir.Load(ctx); err != nil {
		return nil, fmt.Errorf("load teams: %w", err)
	}
	return dir, nil
}
