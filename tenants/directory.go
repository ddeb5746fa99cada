package tenants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

// NotifyChannel is the Postgres channel on which every change to a team's
// configuration is announced, with the team id as payload.
const NotifyChannel = "attach_config"

// Directory is the request path's copy of every team: reads are lock-free
// (an atomic pointer to an immutable index), and writers build a new index
// and swap it in. Its Handler keeps it current through LISTEN/NOTIFY.
type Directory struct {
	pool   *pgxpool.Pool
	sealer *Sealer
	log    *slog.Logger

	index   atomic.Pointer[teamIndex]
	version atomic.Uint64 // bumped for every snapshot built
	mu      sync.Mutex    // one writer at a time, so an older load never replaces a newer one
	changed atomic.Pointer[chan struct{}]
	loads   atomic.Uint64 // full loads done, for tests and metrics
}

// teamIndex is never changed once published.
type teamIndex struct {
	bySlug map[string]*Snapshot
	byID   map[string]*Snapshot
}

// NewDirectory makes an empty directory; call Load, and register its Handler
// with the process's Listener.
func NewDirectory(pool *pgxpool.Pool, sealer *Sealer, logger *slog.Logger) *Directory {
	if logger == nil {
		logger = slog.Default()
	}
	d := &Directory{pool: pool, sealer: sealer, log: logger}
	ch := make(chan struct{})
	d.changed.Store(&ch)
	return d
}

// Ready reports whether a full load has completed.
func (d *Directory) Ready() bool { return d.index.Load() != nil }

// Team returns the snapshot of the team with slug.
func (d *Directory) Team(slug string) (*Snapshot, bool) {
	idx := d.index.Load()
	if idx == nil {
		return nil, false
	}
	s, ok := idx.bySlug[slug]
	return s, ok
}

// TeamByID returns the snapshot of the team with id.
func (d *Directory) TeamByID(id string) (*Snapshot, bool) {
	idx := d.index.Load()
	if idx == nil {
		return nil, false
	}
	s, ok := idx.byID[id]
	return s, ok
}

// Len is the number of teams loaded.
func (d *Directory) Len() int {
	idx := d.index.Load()
	if idx == nil {
		return 0
	}
	return len(idx.byID)
}

// FullLoads counts completed full loads (the first, and one after every
// reconnection of the listener).
func (d *Directory) FullLoads() uint64 { return d.loads.Load() }

// Load reads every team from Postgres and replaces the whole directory.
func (d *Directory) Load(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	snaps, err := d.read(ctx, "")
	if err != nil {
		return fmt.Errorf("load teams: %w", err)
	}
	idx := &teamIndex{bySlug: make(map[string]*Snapshot, len(snaps)), byID: make(map[string]*Snapshot, len(snaps))}
	for _, s := range snaps {
		idx.bySlug[s.Team.Slug] = s
		idx.byID[s.Team.ID] = s
	}
	d.loads.Add(1) // before publish, so a WaitFor woken by it sees the count
	d.publish(idx)
	return nil
}

// reloadTeam rebuilds one team, or drops it when it no longer exists.
func (d *Directory) reloadTeam(ctx context.Context, teamID string) error {
	if !attach.ValidID(teamID) {
		d.log.Warn("ignoring team change notice with a malformed team id")
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	snaps, err := d.read(ctx, teamID)
	if err != nil {
		return fmt.Errorf("reload team %s: %w", teamID, err)
	}
	old := d.index.Load()
	if old == nil {
		old = &teamIndex{}
	}
	// Copy on write: readers keep using the old maps undisturbed.
	idx := &teamIndex{bySlug: make(map[string]*Snapshot, len(old.bySlug)+1), byID: make(map[string]*Snapshot, len(old.byID)+1)}
	for k, v := range old.bySlug {
		idx.bySlug[k] = v
	}
	for k, v := range old.byID {
		idx.byID[k] = v
	}
	if prev, ok := idx.byID[teamID]; ok { // its slug may have changed
		delete(idx.bySlug, prev.Team.Slug)
		delete(idx.byID, teamID)
	}
	for _, s := range snaps {
		idx.bySlug[s.Team.Slug] = s
		idx.byID[s.Team.ID] = s
	}
	d.publish(idx)
	return nil
}

// publish swaps in idx and wakes WaitFor callers. Callers hold d.mu.
func (d *Directory) publish(idx *teamIndex) {
	d.index.Store(idx)
	next := make(chan struct{})
	prev := d.changed.Swap(&next)
	close(*prev)
}

// WaitFor blocks until cond holds for the directory, re-checking after every
// change, or until ctx ends.
func (d *Directory) WaitFor(ctx context.Context, cond func(*Directory) bool) error {
	for {
		ch := *d.changed.Load() // taken before the check, so no change is missed
		if cond(d) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for team directory: %w", ctx.Err())
		}
	}
}

// Handler keeps the directory current through l's notices on
// NotifyChannel: each reloads the team it names, and after every
// (re)connection the directory reloads everything, since notices sent while
// nobody listened are lost. A failed reload ends the listener's session, and
// the reconnection's full load mends the directory.
func (d *Directory) Handler() Handler {
	return Handler{Ready: d.Load, Notice: d.reloadTeam}
}

// errNoSealer is logged when a stored engine key cannot be opened because the
// gateway runs without a secret key.
var errNoSealer = errors.New("no secret key configured")
