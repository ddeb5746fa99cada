package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// RecorderOptions tune a Recorder; zero values take the defaults.
type RecorderOptions struct {
	Redactor   *Redactor     // nil: the built-in rules only
	MaxContent int           // bytes of text kept per event; 0: DefaultMaxContent
	QueueSize  int           // exchanges that may wait before Record blocks; 0: 4096
	BatchSize  int           // events per write; 0: 500
	BatchWait  time.Duration // longest a batch waits to fill up; 0: 20ms
	Writers    int           // batches written at once; 0: 2
	Metrics    *Metrics
	Logger     *slog.Logger
	// Journal, when set, takes the batches Postgres cannot, so that
	// recording never waits for Postgres; they are replayed when it is
	// back. nil: writers retry until Postgres answers.
	Journal *Journal
	// OnFull is what happens when the recorder can take no more (its queue
	// nearly full, its journal full): OnFullRefuse (the default) or
	// OnFullDrop.
	OnFull string
}

// withDefaults fills in the zero options; newCleaner does Redactor and
// MaxContent.
func (o RecorderOptions) withDefaults() RecorderOptions {
	if o.QueueSize <= 0 {
		// Room for a window's exchanges at far more requests per second
		// than one gateway serves.
		o.QueueSize = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 20 * time.Millisecond
	}
	if o.Writers <= 0 {
		o.Writers = 2
	}
	if o.OnFull == "" {
		o.OnFull = OnFullRefuse
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Recorder is the receiving end of the proxy's tap. Record hands an
// exchange to a bounded queue and returns; background goroutines parse
// exchanges into events, clean them, and write them to Postgres in batches,
// each event with its outbox row in the same transaction. A batch Postgres
// cannot take goes to the Journal and is replayed later (spill.go). When
// the queue is full, Record waits, or with OnFullDrop drops the exchange
// and counts it; with OnFullRefuse, Admit turns requests away before they
// reach the engine so that the queue seldom fills.
type Recorder struct {
	pool    *pgxpool.Pool
	sinks   *Sinks
	dir     *tenants.Directory
	clean   cleaner
	opts    RecorderOptions
	metrics *Metrics
	log     *slog.Logger

	// mu guards closed and the start of a send: once Close has set
	// closed, no Record joins senders, so the queue can be closed when
	// senders is done.
	mu      sync.Mutex
	closed  bool
	senders sync.WaitGroup
	queue   chan queued
	// closing ends the collector's wait for a window to fill.
	closing chan struct{}
	// abandon releases Records still waiting for room when Close runs out
	// of time: what they carry is counted lost, never waited for.
	abandon     chan struct{}
	abandonOnce sync.Once
	// batches go from the parsing goroutine to the writers.
	batches chan []attach.Event
	done    chan struct{} // closed once everything queued is written or lost
	// ctx ends when Close runs out of time: writers stop retrying then.
	ctx    context.Context
	cancel context.CancelFunc
	lost   atomic.Int64
	// dropped counts the events dropped under OnFullDrop, for Status.
	dropped atomic.Int64

	journal *Journal      // nil: no spill
	replay  chan struct{} // wakes the replayer: a batch was journaled
	// replayStop ends the replayer at Close; replayDone says it ended.
	replayStop, replayDone chan struct{}
	replayOnce             sync.Once
}

// queued is an exchange to parse into events, or events made already.
type queued struct {
	x      attach.Exchange
	events []attach.Event
	end    time.Time
}

// NewRecorder starts a recorder writing through pool. The team directory
// dir says which backend each team chose; sinks say what that means: no
// recording ("none"), or whether its events go through the outbox. Call
// Close to flush it.
func NewRecorder(pool *pgxpool.Pool, sinks *Sinks, dir *tenants.Directory, opts RecorderOptions) (*Recorder, error) {
	opts = opts.withDefaults()
	clean, err := newCleaner(opts.Redactor, opts.MaxContent)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{
		pool: pool, sinks: sinks, dir: dir,
		clean: clean,
		opts:  opts, metrics: opts.Metrics, log: opts.Logger,
		queue:   make(chan queued, opts.QueueSize),
		closing: make(chan struct{}),
		abandon: make(chan struct{}),
		batches: make(chan []attach.Event, opts.Writers),
		done:    make(chan struct{}),
		ctx:     ctx, cancel: cancel,
		journal:    opts.Journal,
		replay:     make(chan struct{}, 1),
		replayStop: make(chan struct{}),
		replayDone: make(chan struct{}),
	}
	if r.journal != nil {
		go r.replayJournal()
	} else {
		close(r.replayDone)
	}
	var writers sync.WaitGroup
	for range opts.Writers {
		writers.Go(r.write)
	}
	go func() {
		r.collect()
		writers.Wait()
		close(r.done)
	}()
	return r, nil
}

// Wants tells whether exchanges of teamID are recorded at all.
func (r *Recorder) Wants(teamID string) bool {
	return r.backendOf(teamID) != BackendNone
}

// backendOf is the backend in force for teamID, read from the directory
// so that the request path asks Postgres nothing.
// A team the directory does not know (yet) has the install's default.
func (r *Recorder) backendOf(teamID string) string {
	var m tenants.MemorySettings
	if t, ok := r.dir.TeamByID(teamID); ok {
		m = t.Memory
	}
	return r.sinks.backendOf(m)
}

// Record queues an exchange that just finished. It returns at once unless
// the queue is full; then it waits for room, and counts the wait. A wait
// ends, with the exchange counted lost, when Close runs out of time.
func (r *Recorder) Record(x attach.Exchange) {
	r.enqueue(x.TeamID, queued{x: x, end: time.Now()}, 2)
}

// RecordEvents queues events made elsewhere (an A2A hand-off's messages)
// for teamID, as Record queues an exchange. Each needs an ID; CreatedAt
// defaults to now.
func (r *Recorder) RecordEvents(teamID string, events []attach.Event) {
	if len(events) > 0 {
		r.enqueue(teamID, queued{events: events, end: time.Now()}, len(events))
	}
}

// enqueue hands item (n events) to the queue: see Record.
func (r *Recorder) enqueue(teamID string, item queued, n int) {
	if !r.Wants(teamID) {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		// Shutdown closes the recorder after the server has stopped; an
		// exchange arriving later is one the shutdown grace did not let
		// finish, said loudly.
		r.log.Error("memory: exchange recorded after the recorder was closed; not stored", "team", teamID)
		r.lose(n)
		return
	}
	r.senders.Add(1)
	r.mu.Unlock()
	defer r.senders.Done()
	r.metrics.queued(1)
	select {
	case r.queue <- item:
		return
	default:
	}
	if r.opts.OnFull == OnFullDrop {
		r.metrics.queued(-1)
		r.drop(teamID, n)
		return
	}
	r.metrics.waited()
	select {
	case r.queue <- item:
	case <-r.abandon:
		r.metrics.queued(-1)
		r.lose(n)
	}
}

// Close stops taking exchanges and returns once everything queued is
// stored. If ctx ends first (Postgres unreachable), the rest is given up
// and counted, Records still waiting for room return, and Close says how
// many events were lost. It never outlives ctx by more than the moment
// the writers take to give up.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	first := !r.closed
	r.closed = true
	r.mu.Unlock()
	if first {
		close(r.closing)
		// The queue closes once no Record can still send on it.
		go func() {
			r.senders.Wait()
			close(r.queue)
		}()
	}
	defer r.stopReplay()
	select {
	case <-r.done:
		r.cancel()
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	r.abandonOnce.Do(func() { close(r.abandon) })
	<-r.done // quick now: writers no longer retry, senders no longer wait
	return fmt.Errorf("close memory recorder: %w; %d events not stored", ctx.Err(), r.lost.Load())
}

// collect parses queued exchanges into batches of events: a batch goes to
// the writers when it is full or BatchWait after its first event.
func (r *Recorder) collect() {
	defer close(r.batches)
	for {
		first, ok := <-r.queue
		if !ok {
			return
		}
		// Let the window's exchanges gather before parsing any: the
		// collector then wakes once per window instead of once per
		// exchange, and its parsing does not land on the heels of each
		// request, where it would delay the next one on the same CPU.
		timer := time.NewTimer(r.opts.BatchWait)
		select {
		case <-timer.C:
		case <-r.closing:
			timer.Stop()
		}
		batch := r.parse(r.newBatch(), first)
		closed := false
	drain:
		for {
			select {
			case item, ok := <-r.queue:
				if !ok {
					closed = true
					break drain
				}
				batch = r.parse(batch, item)
				if len(batch) >= r.opts.BatchSize {
					r.batches <- batch
					batch = r.newBatch()
				}
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			r.batches <- batch
		}
		if closed {
			return
		}
	}
}

// newBatch makes room for the events of the exchanges waiting now, two
// each, up to a full batch: growing a batch by appending would allocate
// about twice its size again.
func (r *Recorder) newBatch() []attach.Event {
	return make([]attach.Event, 0, min(2*(1+len(r.queue)), r.opts.BatchSize+1))
}

// parse turns a queued exchange into events appended to batch.
func (r *Recorder) parse(batch []attach.Event, item queued) []attach.Event {
	r.metrics.queued(-1)
	if item.events != nil {
		return append(batch, r.clean.events(item.events, item.end)...)
	}
	events, err := r.clean.exchangeEvents(item.x, item.end)
	if err != nil {
		r.log.Error("memory: cannot read exchange", "team", item.x.TeamID, "err", err)
		r.metrics.recordFailed(2)
		return batch
	}
	return append(batch, events...)
}

func (r *Recorder) write() {
	for batch := range r.batches {
		r.store(batch)
	}
}

// store writes a batch, retrying while Postgres is unreachable. A batch
// Postgres refuses (a team deleted meanwhile, say) is split into events so
// that one bad event does not cost the others.
func (r *Recorder) store(events []attach.Event) {
	if r.journal != nil && !r.journal.Empty() && r.spill(events) {
		// Earlier batches wait in the journal: this one goes behind them,
		// so that batches reach Postgres in the order they were recorded.
		return
	}
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := r.insert(events)
		if err == nil || (attempt > 0 && uniqueViolation(err)) {
			// A unique violation on a retry means an earlier attempt
			// committed and only its answer was lost: ids are fresh.
			r.metrics.stored(events)
			r.metrics.batch(len(events))
			return
		}
		if permanent(err) {
			if len(events) > 1 {
				for _, e := range events {
					r.store([]attach.Event{e})
				}
				return
			}
			if attach.ErrorCode(err) == attach.CodeNotFound {
				// Deleting a team deletes its memory; what it said just
				// before goes with it.
				r.log.Info("memory: event of a deleted team not stored", "team", events[0].TeamID, "kind", events[0].Kind)
			} else {
				r.log.Error("memory: event not stored", "team", events[0].TeamID, "kind", events[0].Kind, "err", err)
			}
			r.lose(1)
			return
		}
		if r.journal != nil && r.spill(events) {
			r.log.Warn("memory: Postgres cannot take events; journaled for replay", "events", len(events), "err", err)
			return
		}
		if r.ctx.Err() != nil {
			r.log.Error("memory: shutdown ran out of time; events not stored", "events", len(events), "err", err)
			r.lose(len(events))
			return
		}
		r.log.Warn("memory: cannot store events, retrying", "events", len(events), "err", err, "backoff", backoff)
		select {
		case <-r.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *Recorder) lose(n int) {
	r.lost.Add(int64(n))
	r.metrics.recordFailed(n)
}

// insert writes events in one transaction.
func (r *Recorder) insert(events []attach.Event) error {
	// With a journal to fall back on, a Postgres that hangs is given up on
	// sooner: the batch waits on disk instead of holding up the queue.
	timeout := 30 * time.Second
	if r.journal != nil {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	queue := func(teamID string) bool { return r.sinks.Queued(r.backendOf(teamID)) }
	if err := insertEvents(ctx, tx, events, queue); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit events: %w", err)
	}
	return nil
}

func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
