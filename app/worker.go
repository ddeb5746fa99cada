package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// RunWorker is `attach worker`: it delivers the memory outbox to each
// team's sink until ctx ends, and serves /healthz and /metrics on ln. One
// listener keeps the team directory current (the teams' engines compute
// vectors) and wakes the worker when rows are added. cfg's secret key must
// be loaded.
func RunWorker(ctx context.Context, cfg Config, pool *pgxpool.Pool, ln net.Listener, log *slog.Logger) error {
	defer ln.Close()
	sealer, err := tenants.NewSealer(cfg.SecretKey)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	dir, err := loadDirectory(ctx, pool, sealer, log)
	if err != nil {
		return err
	}
	reg := newRegistry()
	p, err := newMemoryParts(ctx, cfg, pool, dir, reg)
	if err != nil {
		return err
	}
	w, err := p.worker(pool, log)
	if err != nil {
		return err
	}
	listener := tenants.NewListener(pool, log)
	listener.Handle(tenants.NotifyChannel, dir.Handler())
	listener.Handle(memory.WakeChannel, w.Handler())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { listener.Run(ctx) })
	wg.Go(func() { _ = w.Run(ctx) })
	srv := &http.Server{Handler: workerRoutes(reg), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		if err = srv.Shutdown(sctx); err != nil {
			err = fmt.Errorf("stop serving: %w", err)
		}
		<-served
	}
	// The batch in hand is finished (or left to the next worker) before
	// the pool closes.
	cancel()
	wg.Wait()
	return err
}

// workerRoutes are the worker's operational endpoints, answered as the
// gateway answers them.
func workerRoutes(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
