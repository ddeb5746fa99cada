package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// RunWorker is `attach worker`: it delivers the memory outbox to each
// team's sink until ctx ends. One listener keeps the team directory current
// (the teams' engines compute vectors) and wakes the worker when rows are
// added. cfg's secret key must be loaded.
func RunWorker(ctx context.Context, cfg Config, pool *pgxpool.Pool, log *slog.Logger) error {
	sealer, err := tenants.NewSealer(cfg.SecretKey)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	dir, err := loadDirectory(ctx, pool, sealer, log)
	if err != nil {
		return err
	}
	p, err := newMemoryParts(ctx, cfg, pool, dir, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	w, err := p.worker(pool, dir, log)
	if err != nil {
		return err
	}
	listener := tenants.NewListener(pool, log)
	listener.Handle(tenants.NotifyChannel, dir.Handler())
	listener.Handle(memory.WakeChannel, w.Handler())
	var wg sync.WaitGroup
	wg.Go(func() { listener.Run(ctx) })
	defer wg.Wait()
	return w.Run(ctx)
}
