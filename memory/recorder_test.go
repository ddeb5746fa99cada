package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// value reads a counter or gauge.
func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		sum += d.GetCounter().GetValue() + d.GetGauge().GetValue()
	}
	return sum
}

func testMetrics(t testing.TB, pool *pgxpool.Pool) *Metrics {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustRecorder makes a recorder that reads the teams' settings from a
// directory kept current.
func mustRecorder(t testing.TB, pool *pgxpool.Pool, sinks *Sinks, opts RecorderOptions) *Recorder {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	r, err := NewRecorder(pool, sinks, followTeams(t, pool), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func chatExchange(team, user, session, question string) attach.Exchange {
	return attach.Exchange{
		TeamID: team, User: user, Session: session, Engine: "gpu-box", Model: "llama3.2", Path: "/api/chat",
		Status:   200,
		Request:  []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"` + question + `"}]}`),
		Response: []byte(ollamaChatStream),
		Start:    time.Now().Add(-time.Second),
	}
}

func TestRecorderStoresExchanges(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	m := testMetrics(t, pool)
	// Nothing is written before Close: the batch neither fills nor times
	// out, so what is found afterwards was flushed by Close.
	r := mustRecorder(t, pool, queuedSinks(t), RecorderOptions{BatchSize: 10_000, BatchWait: time.Hour, MaxContent: 20, Metrics: m})
	r.Record(chatExchange(team, "alice", "s1", "my token is Bearer abcdefghijklmnop0123"))
	r.Record(chatExchange(team, "bob", "s2", "second"))
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := mustStore(t, pool, mustSinks(t, "", NewPostgresSink(pool)))
	list, _, err := s.List(ctx, Filter{TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d events stored, want 4", len(list))
	}
	// Newest first: bob's response, bob's prompt, alice's response, alice's prompt.
	alicePrompt, aliceAnswer := list[3], list[2]
	if alicePrompt.Kind != attach.KindPrompt || alicePrompt.User != "alice" || alicePrompt.Session != "s1" || alicePrompt.Model != "llama3.2" {
		t.Fatalf("alice's prompt: %+v", alicePrompt)
	}
	if strings.Contains(alicePrompt.Content, "abcdefghijklmnop0123") {
		t.Fatalf("secret stored: %q", alicePrompt.Content)
	}
	if alicePrompt.Content != "my token is Bearer [" || !alicePrompt.Truncated {
		t.Fatalf("prompt not redacted then cut at 20 bytes: %q truncated=%v", alicePrompt.Content, alicePrompt.Truncated)
	}
	if aliceAnswer.Kind != attach.KindResponse || aliceAnswer.Content != "Sunlight scatters of" || metaOf(t, aliceAnswer)["prompt_id"] != alicePrompt.ID {
		t.Fatalf("alice's answer: %+v %s", aliceAnswer, aliceAnswer.Metadata)
	}
	if n := outboxCount(t, pool); n != 4 {
		t.Fatalf("outbox: %d, want 4", n)
	}
	if got := value(t, m.recorded.WithLabelValues(attach.KindPrompt)); got != 2 {
		t.Fatalf("prompts recorded metric = %v", got)
	}
	// Closing twice is harmless; recording after closing stores nothing.
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r.Record(chatExchange(team, "carol", "s3", "late"))
	if got := value(t, m.recordFailures); got != 2 {
		t.Fatalf("late exchange not counted as failed: %v", got)
	}
}

func TestRecorderSkipsTeamsWithoutMemory(t *testing.T) {
	t.Parallel()
	ctx, pool, on := newTeamDB(t, "on")
	off := mustTeam(t, pool, "off")
	sinks := mustSinks(t, "", NewPostgresSink(pool))
	r := mustRecorder(t, pool, sinks, RecorderOptions{})
	if !r.Wants(on) || !r.Wants(off) {
		t.Fatalf("before any choice: Wants(on)=%v Wants(off)=%v", r.Wants(on), r.Wants(off))
	}
	// The recorder follows the choice through the team directory.
	if _, err := mustStore(t, pool, sinks).SetSettings(ctx, off, TeamSettings{Backend: BackendNone}); err != nil {
		t.Fatal(err)
	}
	if err := r.dir.WaitFor(ctx, func(*tenants.Directory) bool { return !r.Wants(off) }); err != nil {
		t.Fatal(err)
	}
	if !r.Wants(on) {
		t.Fatal("turning one team's memory off turned another's off")
	}
	r.Record(chatExchange(on, "u", "s", "q"))
	r.Record(chatExchange(off, "u", "s", "q"))
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var onN, offN int
	if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE team_id = $1), count(*) FILTER (WHERE team_id = $2) FROM memory_events", on, off).Scan(&onN, &offN); err != nil {
		t.Fatal(err)
	}
	if onN != 2 || offN != 0 {
		t.Fatalf("events: team on %d (want 2), team off %d (want 0)", onN, offN)
	}
}

// A batch holding events of a team deleted meanwhile still stores the rest.
func TestRecorderSurvivesDeletedTeam(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	gone := mustTeam(t, pool, "gone")
	m := testMetrics(t, pool)
	r := mustRecorder(t, pool, queuedSinks(t), RecorderOptions{BatchSize: 10_000, BatchWait: time.Hour, Metrics: m})
	r.Record(chatExchange(team, "u", "s", "one"))
	r.Record(chatExchange(gone, "u", "s", "gone"))
	r.Record(chatExchange(team, "u", "s", "two"))
	// Deleted before the batch is written: its events break the team key.
	if err := tenants.NewStore(pool, nil).DeleteTeam(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("%d events stored, want the live team's 4", n)
	}
	if got := value(t, m.recordFailures); got != 2 {
		t.Fatalf("failures metric = %v, want 2", got)
	}
	// Recorded counts what was stored, not the deleted team's events too.
	for _, kind := range []string{attach.KindPrompt, attach.KindResponse} {
		if got := value(t, m.recorded.WithLabelValues(kind)); got != 2 {
			t.Errorf("%s recorded metric = %v, want the live team's 2", kind, got)
		}
	}
}

// When Postgres cannot keep up, Record waits instead of dropping, and the
// wait is counted.
func TestRecorderBackpressure(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	m := testMetrics(t, pool)
	r := mustRecorder(t, pool, queuedSinks(t), RecorderOptions{QueueSize: 1, BatchSize: 1, Writers: 1, Metrics: m})

	// Writes block while another transaction holds the table.
	lock := lockEvents(t, ctx, pool)
	const exchanges = 8
	var wg sync.WaitGroup
	wg.Go(func() {
		for range exchanges {
			r.Record(chatExchange(team, "u", "s", "q"))
		}
	})
	// Wait for the first wait: writer busy, one batch handed over, the
	// parser stuck handing over the next, the queue full.
	waitForWaits(t, ctx, m, 1)
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2*exchanges {
		t.Fatalf("%d events stored, want %d: none may be dropped", n, 2*exchanges)
	}
}

// Close gives up when its context ends, and says what was lost.
func TestRecorderCloseOutOfTime(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	r := mustRecorder(t, pool, queuedSinks(t), RecorderOptions{BatchSize: 1})
	lockEvents(t, ctx, pool)
	r.Record(chatExchange(team, "u", "s", "q"))
	ended, cancel := context.WithCancel(ctx)
	cancel()
	err := r.Close(ended)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 events not stored") {
		t.Fatalf("Close = %v; want a canceled error counting 2 events", err)
	}
}

// lockEvents holds memory_events locked against every other transaction,
// so writes block, until the returned transaction ends or the test does.
func lockEvents(t *testing.T, ctx context.Context, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Rollback(context.Background()) }) //nolint:errcheck
	if _, err := lock.Exec(ctx, "LOCK TABLE memory_events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return lock
}

// waitForWaits returns once Record has waited for room n times.
func waitForWaits(t *testing.T, ctx context.Context, m *Metrics, n float64) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for value(t, m.waits) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("Record waited %v times, want %v", value(t, m.waits), n)
		case <-tick.C:
		}
	}
}

// Shutdown with the queue full and Postgres not answering: Close ends with
// its context, the Records waiting for room return, and every event they
// and the queue held is counted lost. Close used to wait for a lock the
// waiting Records held, for as long as Postgres stayed away.
func TestRecorderCloseWithFullQueue(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	m := testMetrics(t, pool)
	r := mustRecorder(t, pool, queuedSinks(t), RecorderOptions{QueueSize: 1, BatchSize: 1, Writers: 1, Metrics: m})
	lockEvents(t, ctx, pool)
	// One exchange in the writer, one handed over, one in the collector's
	// hands, one in the queue: the other four wait for room.
	const senders = 8
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() { r.Record(chatExchange(team, "u", "s", "q")) })
	}
	waitForWaits(t, ctx, m, senders-4)

	grace, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- r.Close(grace) }()
	var err error
	select {
	case err = <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return after its context ended")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("%d events not stored", 2*senders)) {
		t.Fatalf("Close = %v; want a deadline error counting %d events", err, 2*senders)
	}
	wg.Wait() // every Record has returned
}
