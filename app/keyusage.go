package app

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// keyToucher is the part of the store the usage recorder needs.
type keyToucher interface {
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
}

// keyUsage remembers when each gateway API key was last used and writes the
// batch to Postgres every interval, so the request path never waits on a
// write and a busy key costs one row update per interval, not per request.
type keyUsage struct {
	store    keyToucher
	log      *slog.Logger
	interval time.Duration

	mu   sync.Mutex
	used map[string]time.Time
}

func newKeyUsage(store keyToucher, log *slog.Logger, interval time.Duration) *keyUsage {
	return &keyUsage{store: store, log: log, interval: interval, used: map[string]time.Time{}}
}

// record notes a use of key id at t.
func (u *keyUsage) record(id string, t time.Time) {
	u.mu.Lock()
	if t.After(u.used[id]) {
		u.used[id] = t
	}
	u.mu.Unlock()
}

// run flushes every interval until ctx ends, then flushes once more.
func (u *keyUsage) run(ctx context.Context) {
	tick := time.NewTicker(u.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			u.flush(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			u.flush(final)
			cancel()
			return
		}
	}
}

func (u *keyUsage) flush(ctx context.Context) {
	u.mu.Lock()
	batch := u.used
	u.used = map[string]time.Time{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := u.store.TouchAPIKeys(ctx, batch); err != nil {
		// Put the batch back: a later flush may succeed. Last-used times are
		// informative, so failing here never fails a request.
		u.log.Warn("record API key use", "keys", len(batch), "err", err)
		u.mu.Lock()
		for id, t := range batch {
			if t.After(u.used[id]) {
				u.used[id] = t
			}
		}
		u.mu.Unlock()
	}
}
