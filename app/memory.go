package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviate"
	"github.com/attach-dev/attach-gateway/tenants"
)

// memoryBus is the memory side of one process: the recorder the proxy's tap
// feeds, the store and API behind /mem, and the worker that delivers the
// outbox to each team's sink.
type memoryBus struct {
	sinks    *memory.Sinks
	recorder *memory.Recorder
	store    *memory.Store
	api      *memoryAPI
	worker   *memory.Worker // nil when delivery runs in `attach worker` processes
}

// NewSinks makes the install's memory sinks: Postgres always, Weaviate when
// WEAVIATE_URL is set (a team may choose it even when it is not the
// install's default).
func NewSinks(ctx context.Context, cfg Config, pool *pgxpool.Pool) (*memory.Sinks, error) {
	sinks := []memory.Sink{memory.NewPostgresSink(pool)}
	if cfg.WeaviateURL != "" {
		w, err := weaviate.New(ctx, weaviate.Config{URL: cfg.WeaviateURL, GRPCAddr: cfg.WeaviateGRPC})
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		sinks = append(sinks, w)
	}
	return memory.NewSinks(cfg.MemBackend, sinks...)
}

// memoryParts are what the server and `attach worker` both build from the
// configuration: the sinks, metrics, redactor and embedder.
type memoryParts struct {
	sinks    *memory.Sinks
	metrics  *memory.Metrics
	redactor *memory.Redactor
	embedder *embedder
}

func newMemoryParts(ctx context.Context, cfg Config, pool *pgxpool.Pool, dir *tenants.Directory, reg prometheus.Registerer) (memoryParts, error) {
	var p memoryParts
	var err error
	if p.sinks, err = NewSinks(ctx, cfg, pool); err != nil {
		return p, err
	}
	if p.metrics, err = memory.NewMetrics(reg, pool); err != nil {
		return p, err
	}
	if p.redactor, err = memory.NewRedactor(cfg.MemRedact); err != nil {
		return p, &ConfigError{"ATTACH_MEM_REDACT", err.Error()}
	}
	p.embedder = newEmbedder(dir, networkPolicy(cfg), newSidecarEngine(cfg, dir))
	return p, nil
}

func (p memoryParts) worker(pool *pgxpool.Pool, log *slog.Logger) (*memory.Worker, error) {
	return memory.NewWorker(pool, p.sinks, memory.WorkerOptions{
		Redactor: p.redactor, Embedder: p.embedder, Metrics: p.metrics, Logger: log,
	})
}

func (a *App) startMemory(ctx context.Context) (*memoryBus, error) {
	p, err := newMemoryParts(ctx, a.cfg, a.pool, a.dir, a.metrics.registry)
	if err != nil {
		return nil, err
	}
	b := &memoryBus{sinks: p.sinks}
	journal, err := memory.OpenJournal(filepath.Join(a.cfg.DataDir, "memory-journal"), int64(a.cfg.MemJournalMax), a.log)
	if err != nil {
		// Serving without the journal beats not serving: recording then
		// waits for Postgres, as ATTACH_MEM_ON_FULL says when it is away.
		a.log.Error("memory journal unavailable; recorded exchanges wait for Postgres instead", "err", err)
		journal = nil
	}
	if b.recorder, err = memory.NewRecorder(a.pool, p.sinks, a.dir, memory.RecorderOptions{
		Redactor: p.redactor, MaxContent: a.cfg.MemMaxContent, Metrics: p.metrics, Logger: a.log,
		Journal: journal, OnFull: a.cfg.MemOnFull,
	}); err != nil {
		return nil, err
	}
	if b.store, err = memory.NewStore(a.pool, p.sinks, a.store, memory.StoreOptions{
		Redactor: p.redactor, MaxContent: a.cfg.MemMaxContent, Embedder: p.embedder, Metrics: p.metrics,
	}); err != nil {
		return nil, err
	}
	b.api = &memoryAPI{store: b.store, log: a.log}
	if a.cfg.MemWorker {
		if b.worker, err = p.worker(a.pool, a.log); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// listen registers the worker's handler with the process's listener, when
// this process delivers.
func (b *memoryBus) listen(l *tenants.Listener) {
	if b.worker != nil {
		l.Handle(memory.WakeChannel, b.worker.Handler())
	}
}

// run delivers the outbox until ctx ends, when this process delivers.
func (b *memoryBus) run(ctx context.Context, log *slog.Logger, spawn func(func())) {
	if b.worker != nil {
		spawn(func() {
			if err := b.worker.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("memory worker stopped", "err", err)
			}
		})
	}
}

// memoryRoutes are the memory API's routes, served at the root for the
// default team and under /t/{team} like the engine routes.
var memoryRoutes = []struct {
	method, path string
	handler      func(*memoryAPI) func(*fiber.Ctx, memCaller) error
}{
	{"GET", "/mem/events", func(m *memoryAPI) func(*fiber.Ctx, memCaller) error { return m.ListEvents }},
	{"POST", "/mem/events", func(m *memoryAPI) func(*fiber.Ctx, memCaller) error { return m.AddEvent }},
	{"DELETE", "/mem/events", func(m *memoryAPI) func(*fiber.Ctx, memCaller) error { return m.EraseUser }},
	{"GET", "/mem/events/:id", func(m *memoryAPI) func(*fiber.Ctx, memCaller) error { return m.GetEvent }},
	{"POST", "/v1/logs", func(m *memoryAPI) func(*fiber.Ctx, memCaller) error { return m.AddLogs }},
}

// memoryHandler verifies the caller like an engine route does, then hands
// the request to the memory API scoped to the caller's team and user.
func (a *App) memoryHandler(h func(*fiber.Ctx, memCaller) error, byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, session, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		c.Set("X-Attach-Session-Id", session)
		if err := a.bodies.Read(c, maxLogsBody); err != nil {
			return err
		}
		return h(c, memCaller{
			TeamID:  team.Team.ID,
			User:    p.Subject,
			Session: session,
			Admin:   slices.Contains(p.Scopes, ScopeMemoryAdmin),
		})
	}
}
