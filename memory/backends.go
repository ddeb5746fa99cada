package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Backends is the request path's copy of which backend every team uses, so
// the proxy can ask on every call whether to record at all without a query.
// Reads are lock-free; Run keeps it current through LISTEN/NOTIFY.
type Backends struct {
	pool *pgxpool.Pool
	def  string
	log  *slog.Logger

	overrides atomic.Pointer[map[string]string] // team id -> backend, for teams with one
	mu        sync.Mutex                        // one writer at a time
	changed   atomic.Pointer[chan struct{}]     // closed and replaced on every change
}

// NewBackends makes a cache of team overrides over defaultBackend (the
// install's MEM_BACKEND). Until Load or Run has read them, every team has
// the default.
func NewBackends(pool *pgxpool.Pool, defaultBackend string, logger *slog.Logger) (*Backends, error) {
	def, err := ParseBackend(defaultBackend)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	b := &Backends{pool: pool, def: def, log: logger}
	empty := map[string]string{}
	b.overrides.Store(&empty)
	ch := make(chan struct{})
	b.changed.Store(&ch)
	return b, nil
}

// Of is the backend teamID's events go to.
func (b *Backends) Of(teamID string) string {
	if be, ok := (*b.overrides.Load())[teamID]; ok {
		return be
	}
	return b.def
}

// Load reads every team's override.
func (b *Backends) Load(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	rows, err := b.pool.Query(ctx, "SELECT team_id, backend FROM team_memory_settings WHERE backend IS NOT NULL")
	if err != nil {
		return fmt.Errorf("load memory backends: %w", err)
	}
	m := map[string]string{}
	var team, backend string
	_, err = pgx.ForEachRow(rows, []any{&team, &backend}, func() error {
		m[team] = backend
		return nil
	})
	if err != nil {
		return fmt.Errorf("load memory backends: %w", err)
	}
	b.publish(m)
	return nil
}

// reload re-reads one team's override.
func (b *Backends) reload(ctx context.Context, teamID string) error {
	if !attach.ValidID(teamID) {
		b.log.Warn("ignoring memory settings notice with a malformed team id")
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var backend *string
	err := b.pool.QueryRow(ctx, "SELECT backend FROM team_memory_settings WHERE team_id = $1", teamID).Scan(&backend)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("reload memory backend of team %s: %w", teamID, err)
	}
	// Copy on write: readers keep the old map undisturbed.
	m := maps.Clone(*b.overrides.Load())
	if backend != nil {
		m[teamID] = *backend
	} else {
		delete(m, teamID)
	}
	b.publish(m)
	return nil
}

func (b *Backends) publish(m map[string]string) {
	b.overrides.Store(&m)
	next := make(chan struct{})
	close(*b.changed.Swap(&next))
}

// SettingsChannel is notified, with the team id, when a team's memory
// settings change.
const SettingsChannel = "attach_memory_settings"

// Handler keeps the cache current through notices on SettingsChannel: each
// re-reads its team, and every (re)connection re-reads everything, since
// notices sent while nobody listened are lost.
func (b *Backends) Handler() tenants.Handler {
	return tenants.Handler{Ready: b.Load, Notice: b.reload}
}

// waitFor blocks until cond holds, re-checking after every change.
func (b *Backends) waitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := *b.changed.Load()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for memory backends: %w", ctx.Err())
		}
	}
}
