package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// WorkerOptions tune a Worker; zero values take the defaults.
type WorkerOptions struct {
	BatchSize      int           // outbox rows claimed at once; 0: 500
	Loops          int           // batches in flight at once in this process; 0: 4
	Poll           time.Duration // how often to look for due retries without a notice; 0: 1s
	MinBackoff     time.Duration // wait after a first failure; 0: 1s
	MaxBackoff     time.Duration // longest wait between attempts; 0: 1 min
	DeliverTimeout time.Duration // longest one call to a sink may take; 0: 30s
	Redactor       *Redactor     // cleans sink errors before they are stored; nil: built-in rules
	Embedder       Embedder      // computes vectors for teams that name an embedding model; nil: none
	Metrics        *Metrics
	Logger         *slog.Logger
}

func (o WorkerOptions) withDefaults() (WorkerOptions, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Loops <= 0 {
		o.Loops = 4
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.DeliverTimeout <= 0 {
		o.DeliverTimeout = 30 * time.Second
	}
	if o.Redactor == nil {
		r, err := NewRedactor(nil)
		if err != nil {
			return o, err
		}
		o.Redactor = r
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// teamsAtOnce bounds the sinks one batch calls at the same time.
const teamsAtOnce = 4

// erasuresPerRound bounds the erasures one round claims: each is a call to
// every sink.
const erasuresPerRound = 50

// maxErrorText bounds a failure's text stored in the outbox.
const maxErrorText = 500

// Worker delivers the outbox to the teams' sinks. Any number of workers,
// in this process and others, may share one database: each claims rows
// with FOR UPDATE SKIP LOCKED, so no two deliver the same event at once,
// and deletes them in the transaction that saw the sink accept them. A
// failure puts the team's rows back with exponential backoff and jitter,
// and the rest of the queue keeps moving. Erasures go the same way.
type Worker struct {
	pool    *pgxpool.Pool
	sinks   *Sinks
	opts    WorkerOptions
	metrics *Metrics
	log     *slog.Logger
	wake    chan struct{}
}

// NewWorker delivers the events in pool's database to sinks.
func NewWorker(pool *pgxpool.Pool, sinks *Sinks, opts WorkerOptions) (*Worker, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Worker{pool: pool, sinks: sinks, opts: opts, metrics: opts.Metrics, log: opts.Logger,
		wake: make(chan struct{}, opts.Loops)}, nil
}

// WakeChannel is notified when outbox or erasure rows are added.
const WakeChannel = "attach_memory"

// Handler wakes the worker on every notice on WakeChannel, and after the
// listener (re)connects, since rows added meanwhile were announced to
// nobody. Without it the worker finds new rows only when it polls.
func (w *Worker) Handler() tenants.Handler {
	return tenants.Handler{
		Ready:  func(context.Context) error { w.poke(); return nil },
		Notice: func(context.Context, string) error { w.poke(); return nil },
	}
}

// Run delivers until ctx ends, then returns nil. It wakes when its Handler
// hears that rows were added, and polls for retries that come due.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range w.opts.Loops {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	return nil
}

// poke wakes every idle loop.
func (w *Worker) poke() {
	for range cap(w.wake) {
		select {
		case w.wake <- struct{}{}:
		default:
			return
		}
	}
}

func (w *Worker) loop(ctx context.Context) {
	tick := time.NewTicker(w.opts.Poll)
	defer tick.Stop()
	for {
		full, err := w.round(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log.Warn("memory delivery round failed", "err", err)
		} else if full {
			continue // more is waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-tick.C:
		}
	}
}

// round processes due erasures and one batch of deliveries; full says the
// batch was full, so more may be due.
func (w *Worker) round(ctx context.Context) (full bool, err error) {
	if err := w.erase(ctx); err != nil {
		return false, err
	}
	n, err := w.deliver(ctx)
	return n >= w.opts.BatchSize, err
}

// claimed is one outbox row with its event.
type claimed struct {
	event    attach.Event
	attempts int
	queued   time.Time
}

// teamBatch is the claimed events of one team and how delivering them went.
type teamBatch struct {
	team       string
	rows       []claimed
	sink       string
	embedModel string // the team's embedding model; "" stores no vectors
	err        error
}

// deliver claims one batch, delivers it team by team, and records the
// outcome, all in one transaction: if this process dies half-way, the rows
// are delivered again (sinks overwrite by id) rather than lost.
func (w *Worker) deliver(ctx context.Context) (int, error) {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin delivery: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit

	rows, err := tx.Query(ctx, `
		SELECT o.attempts, o.created_at, e.id, e.team_id, e."user", e.session, e.kind, e.role, e.model,
		       e.engine, e.content, e.truncated, e.task_id, e.metadata, e.created_at
		FROM memory_outbox o JOIN memory_events e ON e.team_id = o.team_id AND e.id = o.event_id
		WHERE o.next_attempt_at <= now()
		ORDER BY o.next_attempt_at
		LIMIT $1
		FOR UPDATE OF o SKIP LOCKED`, w.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		var meta []byte
		e := &c.event
		err := r.Scan(&c.attempts, &c.queued, &e.ID, &e.TeamID, &e.User, &e.Session, &e.Kind, &e.Role, &e.Model,
			&e.Engine, &e.Content, &e.Truncated, &e.TaskID, &meta, &e.CreatedAt)
		if len(meta) > 0 {
			e.Metadata = meta
		}
		return c, err
	})
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	if len(list) == 0 {
		return 0, nil
	}

	batches, err := w.groupByTeam(ctx, tx, list)
	if err != nil {
		return 0, err
	}
	w.callSinks(ctx, batches)
	if ctx.Err() != nil {
		// Shutting down: leave the rows to the next worker untouched
		// rather than count the interruption as the sink's failure.
		return 0, ctx.Err()
	}

	var done, recovered []string
	for _, b := range batches {
		ids := make([]string, len(b.rows))
		for i, r := range b.rows {
			ids[i] = r.event.ID
		}
		if b.err == nil {
			done = append(done, ids...)
			recovered = append(recovered, b.team)
			continue
		}
		attempts := 0
		for _, r := range b.rows {
			attempts = max(attempts, r.attempts)
		}
		wait := w.backoff(attempts)
		w.log.Warn("memory delivery failed", "team", b.team, "sink", b.sink, "events", len(ids),
			"attempt", attempts+1, "retry_in", wait, "err", w.errorText(b.err))
		_, err := tx.Exec(ctx, `UPDATE memory_outbox
			SET attempts = attempts + 1, last_error = $2, next_attempt_at = clock_timestamp() + $3 * interval '1 microsecond'
			WHERE event_id = ANY($1::uuid[])`, ids, w.errorText(b.err), wait.Microseconds())
		if err != nil {
			return 0, fmt.Errorf("record delivery failure: %w", err)
		}
	}
	if len(done) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM memory_outbox WHERE event_id = ANY($1::uuid[])", done); err != nil {
			return 0, fmt.Errorf("remove delivered events: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit delivery: %w", err)
	}
	if len(recovered) > 0 {
		// The team's sink took a batch: it is back, if it was away. The
		// team's events still backing off would otherwise wait out up to
		// MaxBackoff each. Rows another worker holds are skipped, not
		// waited for: two workers each waiting on the other's rows would
		// deadlock, and the loser's delivered batch would go out again.
		if _, err := w.pool.Exec(ctx, `UPDATE memory_outbox SET next_attempt_at = now()
			WHERE event_id IN (SELECT event_id FROM memory_outbox
				WHERE team_id = ANY($1::uuid[]) AND attempts > 0 AND next_attempt_at > now()
				FOR UPDATE SKIP LOCKED)`, recovered); err != nil {
			w.log.Warn("memory: cannot resume backed-off events", "err", err)
		}
	}

	now := time.Now()
	for _, b := range batches {
		if b.err != nil {
			w.metrics.failed(b.sink)
			continue
		}
		lags := make([]time.Duration, len(b.rows))
		for i, r := range b.rows {
			lags[i] = now.Sub(r.queued)
		}
		w.metrics.deliveredTo(b.sink, len(b.rows), lags)
	}
	return len(list), nil
}

// groupByTeam splits claimed rows by team, in the order first seen, each
// with its team's sink and embedding model as committed.
func (w *Worker) groupByTeam(ctx context.Context, tx pgx.Tx, list []claimed) ([]*teamBatch, error) {
	byTeam := map[string]*teamBatch{}
	var batches []*teamBatch
	var teams []string
	for _, c := range list {
		b, ok := byTeam[c.event.TeamID]
		if !ok {
			b = &teamBatch{team: c.event.TeamID}
			byTeam[b.team] = b
			batches = append(batches, b)
			teams = append(teams, b.team)
		}
		b.rows = append(b.rows, c)
	}
	settings, err := tenants.ReadMemorySettings(ctx, tx, teams)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		m := settings[b.team]
		b.sink, b.embedModel = w.sinks.backendOf(m), m.EmbedModel
	}
	return batches, nil
}

// callSinks delivers every team's events, a few teams at a time, so that a
// slow sink of one team does not hold up the others more than once.
func (w *Worker) callSinks(ctx context.Context, batches []*teamBatch) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, teamsAtOnce)
	for _, b := range batches {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			sink, err := w.sinks.resolve(b.sink)
			if err != nil {
				b.err = err
				return
			}
			events := make([]attach.Event, len(b.rows))
			for i, r := range b.rows {
				events[i] = r.event
			}
			dctx, cancel := context.WithTimeout(ctx, w.opts.DeliverTimeout)
			defer cancel()
			b.err = deliverTo(dctx, sink, w.opts.Embedder, b.team, b.embedModel, events)
		})
	}
	wg.Wait()
}

// erase runs due erasures against every sink that may hold the events of
// the user, or of the whole team when the team was deleted. Each erasure has its own transaction, so one sink's failure does
// not undo the others' success.
func (w *Worker) erase(ctx context.Context) error {
	for range erasuresPerRound {
		more, err := w.eraseOne(ctx)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (w *Worker) eraseOne(ctx context.Context) (bool, error) {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin erasure: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	var team, user string
	var attempts int
	err = tx.QueryRow(ctx, `SELECT team_id, "user", attempts FROM memory_erasures
		WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&team, &user, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim erasure: %w", err)
	}
	var failed error
	failedSink := ""
	for _, sink := range w.sinks.erasers() {
		dctx, cancel := context.WithTimeout(ctx, w.opts.DeliverTimeout)
		var err error
		if user == "" {
			// the team was deleted (see migration 00005)
			err = sink.DeleteTeam(dctx, team)
		} else {
			err = sink.DeleteUser(dctx, team, user)
		}
		cancel()
		if err != nil {
			failed, failedSink = err, sink.Name()
			break
		}
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if failed == nil {
		_, err = tx.Exec(ctx, `DELETE FROM memory_erasures WHERE team_id = $1 AND "user" = $2`, team, user)
	} else {
		wait := w.backoff(attempts)
		w.log.Warn("memory erasure failed", "team", team, "sink", failedSink, "attempt", attempts+1,
			"retry_in", wait, "err", w.errorText(failed))
		_, err = tx.Exec(ctx, `UPDATE memory_erasures
			SET attempts = attempts + 1, last_error = $3, next_attempt_at = clock_timestamp() + $4 * interval '1 microsecond'
			WHERE team_id = $1 AND "user" = $2`, team, user, w.errorText(failed), wait.Microseconds())
	}
	if err != nil {
		return false, fmt.Errorf("record erasure: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit erasure: %w", err)
	}
	if failed != nil {
		w.metrics.failed(failedSink)
	} else {
		w.metrics.erased()
	}
	return true, nil
}

// backoff is the wait after a failure of a row tried attempts times
// before: doubling from MinBackoff up to MaxBackoff, then a random share
// of it (from half to all), so replicas retrying one sink spread out.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.opts.MinBackoff
	for i := 0; i < attempts && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half)
}

// errorText is a failure as stored and logged: secrets redacted, bounded.
func (w *Worker) errorText(err error) string {
	return attach.CutUTF8(w.opts.Redactor.Redact(sanitize(err.Error())), maxErrorText)
}
