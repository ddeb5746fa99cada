package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// poolConns is how many Postgres connections one process may open unless
// the database URL says (pool_max_conns). pgx's default is the number of
// CPUs, at least four, which memory alone would use up: each delivery loop
// keeps a transaction open while its sink takes a batch (four loops), and
// the recorder writes with two more. Requests (the console, the memory
// API) must not wait behind a slow sink.
const poolConns = 16

// NewPool connects to Postgres at dsn with room for every part of the
// gateway at once.
func NewPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors show the URL with its password masked.
		return nil, fmt.Errorf("read the database URL: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, poolConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return pool, nil
}
