// Package usage is the usage ledger: what each team's chat, completion and
// embedding exchanges cost in tokens, kept in Postgres so that it stays
// cheap. The proxy hands each exchange to Ledger.Measure, which only
// queues it; a writer adds the queue to Postgres in batches, about once a
// second: one raw row per exchange (usage_records, kept 7 days by
// default) and per-minute sums per (team, user, key, engine, model)
// (usage_minutes, kept 13 months), which the usage API reads.
//
// When Postgres is away the records wait in memory, up to a bound; past
// it they are dropped and counted (Stats.Dropped), and a log line says so,
// so that usage never vanishes silently, and a request never waits on the
// ledger.
//
// Old rows are pruned by each replica's writer every hour under a Postgres
// advisory lock, so one replica deletes at a time, in batches. The River
// queue is not used for it: the only River client is the seed's, and a
// periodic DELETE needs neither retries nor job rows.
//
// Raw rows go in with COPY, the sums with one upsert per batch.
//
// It lives under tenants because it is team data in the same Postgres,
// read by the same API and console as the rest of tenants; it is a
// package of its own because it has its own life (a
// writer and a pruning loop) that the tenant store does not need.
package usage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

// Config tunes a Ledger. Zero values take the defaults.
type Config struct {
	// Buffer bounds the records held in memory while Postgres does not
	// take them (default 50,000, some 10 MB).
	Buffer int
	// FlushEvery is the longest a record waits to be written (default
	// 1 s); BatchSize records are written at once (default 1,000).
	FlushEvery time.Duration
	BatchSize  int
	// RawRetention is how long the raw records are kept (default 7 days);
	// RollupRetention how long the per-minute sums are (default 13
	// months, as 396 days). PruneEvery is how often older rows are
	// deleted (default 1 h).
	RawRetention, RollupRetention, PruneEvery time.Duration
	Logger                                    *slog.Logger
}

// Defaults of Config.
const (
	DefaultBuffer          = 50_000
	DefaultRawRetention    = 7 * 24 * time.Hour
	DefaultRollupRetention = 396 * 24 * time.Hour
)

// Stats counts what the ledger did with the records it was given.
type Stats struct {
	Written, Dropped int64
	Pending          int // waiting in memory
}

// Ledger takes usage records on the request path and writes them to
// Postgres in the background. Measure is safe for concurrent use.
type Ledger struct {
	cfg   Config
	store *Store
	log   *slog.Logger
	in    chan attach.Usage

	written, dropped atomic.Int64
	pending          atomic.Int64

	// lastDropLog limits the dropped-records log line to one per
	// dropLogEvery.
	dropMu      sync.Mutex
	lastDropLog time.Time
	dropsUnsaid int64
}

const dropLogEvery = 10 * time.Second

// New makes a ledger writing through pool. Run starts its writer.
func New(pool *pgxpool.Pool, cfg Config) *Ledger {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	// A full buffer is written at once, not held until the next tick.
	cfg.BatchSize = min(cfg.BatchSize, cfg.Buffer)
	if cfg.RawRetention <= 0 {
		cfg.RawRetention = DefaultRawRetention
	}
	if cfg.RollupRetention <= 0 {
		cfg.RollupRetention = DefaultRollupRetention
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Ledger{
		cfg: cfg, store: NewStore(pool), log: cfg.Logger,
		// The channel only smooths bursts; the bound is Buffer, held by
		// the writer.
		in: make(chan attach.Usage, min(cfg.Buffer, 4096)),
	}
}

// Store is the ledger's Postgres store, for queries.
func (l *Ledger) Store() *Store { return l.store }

// Measure queues a record. It never blocks: a record the writer cannot
// take is dropped and counted.
func (l *Ledger) Measure(u attach.Usage) {
	select {
	case l.in <- u:
	default:
		l.drop(1)
	}
}

// Stats says what the ledger did so far.
func (l *Ledger) Stats() Stats {
	return Stats{Written: l.written.Load(), Dropped: l.dropped.Load(), Pending: int(l.pending.Load()) + len(l.in)}
}

func (l *Ledger) drop(n int64) {
	l.dropped.Add(n)
	l.dropMu.Lock()
	l.dropsUnsaid += n
	say := time.Since(l.lastDropLog) >= dropLogEvery
	var count int64
	if say {
		count, l.dropsUnsaid, l.lastDropLog = l.dropsUnsaid, 0, time.Now()
	}
	l.dropMu.Unlock()
	if say {
		l.log.Error("usage records dropped: Postgres did not take them and the buffer is full",
			"dropped", count, "dropped_total", l.dropped.Load(), "buffer", l.cfg.Buffer)
	}
}

// Run writes queued records until ctx ends, then writes what is left
// (for up to 5 s), and prunes old rows every PruneEvery.
// writeTimeout bounds one batch's write.
const writeTimeout = 10 * time.Second

func (l *Ledger) Run(ctx context.Context) {
	var pending []attach.Usage
	flush := time.NewTicker(l.cfg.FlushEvery)
	defer flush.Stop()
	prune := time.NewTimer(time.Minute) // not in the way of start-up
	defer prune.Stop()
	var retryAt time.Time
	backoff := l.cfg.FlushEvery

	take := func(u attach.Usage) {
		if len(pending) >= l.cfg.Buffer {
			l.drop(1)
			return
		}
		pending = append(pending, u)
		l.pending.Store(int64(len(pending)))
	}
	write := func(ctx context.Context) {
		for len(pending) > 0 {
			n := min(len(pending), l.cfg.BatchSize)
			// A batch on its way finishes even when the gateway stops
			// meanwhile: cut off, it would be lost to this try and
			// Postgres would log a client gone mid-statement.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
			err := l.store.Write(wctx, pending[:n])
			cancel()
			var pgErr *pgconn.PgError
			switch {
			case err == nil:
				l.written.Add(int64(n))
			case errors.As(err, &pgErr):
				// Postgres refused these rows: trying again would
				// refuse them again and hold up the rest.
				l.log.Error("usage records refused by Postgres", "records", n, "err", err)
				l.drop(int64(n))
			default:
				// Postgres away: keep them and try later, less often.
				if ctx.Err() == nil {
					l.log.Warn("usage records not written yet; kept in memory", "pending", len(pending), "err", err)
				}
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, 30*time.Second)
				return
			}
			pending = pending[n:]
			backoff = l.cfg.FlushEvery
		}
		pending = nil // let the written backing array go
	}
	defer func() { l.pending.Store(int64(len(pending))) }()
	for {
		select {
		case u := <-l.in:
			take(u)
			if len(pending) >= l.cfg.BatchSize && time.Now().After(retryAt) {
				write(ctx)
			}
			l.pending.Store(int64(len(pending)))
		case <-flush.C:
			if time.Now().After(retryAt) {
				write(ctx)
				l.pending.Store(int64(len(pending)))
			}
		case <-prune.C:
			l.prune(ctx)
			prune.Reset(l.cfg.PruneEvery)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
		drain:
			for {
				select {
				case u := <-l.in:
					take(u)
				default:
					break drain
				}
			}
			write(final)
			if len(pending) > 0 {
				l.log.Error("usage records not written at shutdown", "records", len(pending))
				l.dropped.Add(int64(len(pending)))
			}
			return
		}
	}
}

func (l *Ledger) prune(ctx context.Context) {
	now := time.Now()
	raw, minutes, err := l.store.Prune(ctx, now.Add(-l.cfg.RawRetention), now.Add(-l.cfg.RollupRetention))
	if err != nil {
		l.log.Warn("prune usage ledger", "err", err)
		return
	}
	if raw+minutes > 0 {
		l.log.Info("usage ledger pruned", "records", raw, "minutes", minutes)
	}
}
