package memory

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
	"github.com/attach-dev/attach-gateway/tenants"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fastWorkerOptions(m *Metrics) WorkerOptions {
	return WorkerOptions{BatchSize: 100, Poll: 20 * time.Millisecond, MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond, Metrics: m, Logger: quietLogger()}
}

// runWorker runs w, woken by a listener as in a process, until the test
// ends.
func runWorker(t testing.TB, w *Worker) {
	t.Helper()
	l := tenants.NewListener(w.pool, quietLogger())
	l.Handle(WakeChannel, w.Handler())
	testkit.Go(t, l.Run)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker Run = %v", err)
		}
	})
}

func mustWorker(t testing.TB, pool *pgxpool.Pool, sinks *Sinks, opts WorkerOptions) *Worker {
	t.Helper()
	w, err := NewWorker(pool, sinks, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// addEvents stores n notes for each team and returns their ids.
func addEvents(t testing.TB, s *Store, n int, teams ...string) []string {
	t.Helper()
	var ids []string
	for _, team := range teams {
		events := make([]attach.Event, n)
		for i := range events {
			events[i] = attach.Event{TeamID: team, User: fmt.Sprintf("user%d", i%3), Kind: attach.KindNote, Content: fmt.Sprintf("note %d", i)}
		}
		added, err := s.AddMany(testCtx(t), events)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range added {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Two workers, each with its own pool as if in two processes, deliver every
// event exactly once, through a sink that fails for a while.
func TestWorkersDeliverExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dsn := pgtestDSN(t)
	poolA, poolB := openPool(t, dsn), openPool(t, dsn)
	teams := []string{mustTeam(t, poolA, "a"), mustTeam(t, poolA, "b"), mustTeam(t, poolA, "c")}
	sink := newRecordingSink(BackendPostgres)
	sink.setFailures(5)
	sinks := mustSinks(t, "", sink)
	s := mustStore(t, poolA, sinks)
	ids := addEvents(t, s, 400, teams...)

	m := testMetrics(t, poolA)
	runWorker(t, mustWorker(t, poolA, sinks, fastWorkerOptions(m)))
	runWorker(t, mustWorker(t, poolB, sinks, fastWorkerOptions(m)))
	// More arrive while they work.
	ids = append(ids, addEvents(t, s, 100, teams...)...)

	// The sink hears of a batch before the worker commits its removal
	// from the outbox, and the worker counts it after that: wait for all
	// of them. The counts are checked exactly below.
	lagCount := func() uint64 {
		var lag dto.Metric
		if err := m.lag.Write(&lag); err != nil {
			t.Fatal(err)
		}
		return lag.GetHistogram().GetSampleCount()
	}
	sink.waitUntil(ctx, t, func() bool {
		got, _ := sink.snapshot()
		return len(got) == len(ids) && outboxCount(t, poolA) == 0 &&
			value(t, m.delivered) >= float64(len(ids)) && lagCount() >= uint64(len(ids))
	})
	got, _ := sink.snapshot()
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("event %s delivered %d times, want once", id, got[id])
		}
	}
	for _, team := range teams {
		p, err := s.Pending(ctx, team)
		if err != nil || p.Events != 0 {
			t.Fatalf("Pending(%s) = %+v, %v", team, p, err)
		}
	}
	sink.mu.Lock()
	calls := sink.calls
	sink.mu.Unlock()
	if calls <= 5 {
		t.Fatalf("sink called %d times: the failures were not retried", calls)
	}
	if f := value(t, m.failures); f == 0 {
		t.Fatal("failures not counted")
	}
	if d := value(t, m.delivered); d != float64(len(ids)) {
		t.Fatalf("delivered metric = %v, want %d", d, len(ids))
	}
	if n := lagCount(); n != uint64(len(ids)) {
		t.Fatalf("lag observations = %d, want %d", n, len(ids))
	}
}

// A team whose sink is down waits with backoff while the others flow, and
// its error is kept without the secrets it carried.
func TestBrokenSinkDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	ctx, pool, broken := newTeamDB(t, "broken")
	healthy := mustTeam(t, pool, "healthy")
	good := newRecordingSink(BackendPostgres)
	bad := newRecordingSink(BackendWeaviate)
	bad.setFailures(-1)
	sinks := mustSinks(t, "", good, bad)
	s := mustStore(t, pool, sinks)
	if _, err := s.SetSettings(ctx, broken, TeamSettings{Backend: BackendWeaviate}); err != nil {
		t.Fatal(err)
	}
	brokenIDs := addEvents(t, s, 50, broken)
	healthyIDs := addEvents(t, s, 50, healthy)
	opts := fastWorkerOptions(nil)
	opts.MinBackoff, opts.MaxBackoff = time.Hour, time.Hour // one failure, then a long wait
	runWorker(t, mustWorker(t, pool, sinks, opts))

	good.waitUntil(ctx, t, func() bool {
		got, _ := good.snapshot()
		p, err := s.Pending(ctx, healthy)
		return len(got) == len(healthyIDs) && err == nil && p.Events == 0
	})
	p, err := s.Pending(ctx, broken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Events != len(brokenIDs) {
		t.Fatalf("broken team pending = %+v, want its %d events", p, len(brokenIDs))
	}
	// Its failure is recorded, the secrets in the error are not.
	bad.waitUntil(ctx, t, func() bool {
		p, err = s.Pending(ctx, broken)
		return err == nil && p.LastError != ""
	})
	if !strings.Contains(p.LastError, "sink unreachable") || strings.Contains(p.LastError, "hunter2") || strings.Contains(p.LastError, "abcdef0123456789xyz") {
		t.Fatalf("last error = %q", p.LastError)
	}
	var due int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_outbox WHERE next_attempt_at > now() + interval '30 minutes' AND attempts = 1").Scan(&due); err != nil {
		t.Fatal(err)
	}
	if due != len(brokenIDs) {
		t.Fatalf("%d rows backed off by about an hour, want %d", due, len(brokenIDs))
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	w := mustWorker(t, nil, nil, WorkerOptions{MinBackoff: time.Second, MaxBackoff: time.Minute})
	for attempts, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 3: 8 * time.Second, 6: time.Minute, 500: time.Minute} {
		for range 20 {
			got := w.backoff(attempts)
			if got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempts, got, want/2, want)
			}
		}
	}
}

func TestWorkerErasesUsers(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	pg := newRecordingSink(BackendPostgres)
	wv := newRecordingSink(BackendWeaviate)
	wv.setFailures(2)
	sinks := mustSinks(t, "", pg, wv)
	s := mustStore(t, pool, sinks)
	addEvents(t, s, 6, team)
	n, err := s.EraseUser(ctx, team, "user1")
	if err != nil || n != 2 {
		t.Fatalf("EraseUser = %d, %v", n, err)
	}
	m := testMetrics(t, pool)
	runWorker(t, mustWorker(t, pool, sinks, fastWorkerOptions(m)))
	// Every sink that may hold the user's events hears of it, the failing
	// one after its retries (erasing is idempotent, so the others may hear
	// it again on each retry).
	wv.waitUntil(ctx, t, func() bool {
		_, erased := wv.snapshot()
		return len(erased) == 1
	})
	for _, sink := range []*recordingSink{pg, wv} {
		_, erased := sink.snapshot()
		if len(erased) == 0 {
			t.Fatalf("%s erased nothing", sink.name)
		}
		for _, e := range erased {
			if e != team+"/user1" {
				t.Fatalf("%s erased %v", sink.name, erased)
			}
		}
	}
	pg.waitUntil(ctx, t, func() bool {
		var left int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_erasures").Scan(&left)
		return err == nil && left == 0 && outboxCount(t, pool) == 0
	})
	got, _ := pg.snapshot()
	if len(got) != 4 {
		t.Fatalf("delivered %d events, want the 4 not erased", len(got))
	}
}

// Deleting a team deletes its events and queued deliveries at once, and
// queues one erasure of the whole team, which replaces the team's pending
// user erasures and reaches every sink.
func TestDeletingATeamErasesItEverywhere(t *testing.T) {
	t.Parallel()
	ctx, pool, gone := newTeamDB(t, "gone")
	kept := mustTeam(t, pool, "kept")
	pg := newRecordingSink(BackendPostgres)
	wv := newRecordingSink(BackendWeaviate)
	sinks := mustSinks(t, BackendWeaviate, pg, wv)
	s := mustStore(t, pool, sinks)
	keptIDs := addEvents(t, s, 6, kept)
	addEvents(t, s, 6, gone)
	if _, err := s.EraseUser(ctx, gone, "user1"); err != nil {
		t.Fatal(err)
	}
	if err := tenants.NewStore(pool, nil).DeleteTeam(ctx, gone); err != nil {
		t.Fatalf("delete team: %v", err)
	}
	var events, outbox int
	err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM memory_events WHERE team_id = $1),
		(SELECT count(*) FROM memory_outbox WHERE team_id = $1)`, gone).Scan(&events, &outbox)
	if err != nil || events != 0 || outbox != 0 {
		t.Fatalf("after the delete the team has %d events and %d outbox rows (%v), want none", events, outbox, err)
	}
	var queued []string
	rows, err := pool.Query(ctx, `SELECT team_id::text || '/' || "user" FROM memory_erasures`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		queued = append(queued, q)
	}
	if rows.Err() != nil || len(queued) != 1 || queued[0] != gone+"/" {
		t.Fatalf("erasures queued: %v (%v), want only the whole team %s/", queued, rows.Err(), gone)
	}
	// A user of a team that no longer exists cannot be erased.
	if _, err := s.EraseUser(ctx, gone, "user2"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("EraseUser in a deleted team: %v, want not_found", err)
	}

	runWorker(t, mustWorker(t, pool, sinks, fastWorkerOptions(testMetrics(t, pool))))
	wv.waitUntil(ctx, t, func() bool {
		var left int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_erasures").Scan(&left)
		got, _ := wv.snapshot()
		return err == nil && left == 0 && len(got) == len(keptIDs)
	})
	for _, sink := range []*recordingSink{pg, wv} {
		if _, erased := sink.snapshot(); len(erased) != 1 || erased[0] != gone+"/" {
			t.Errorf("%s erased %v, want the whole team %s/ once", sink.name, erased, gone)
		}
	}
	got, _ := wv.snapshot()
	for _, id := range keptIDs {
		if got[id] != 1 {
			t.Errorf("the kept team's event %s delivered %d times", id, got[id])
		}
	}
}

// With polling effectively off, only the NOTIFY can wake the worker.
func TestWorkerWakesOnNotice(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	sink := newRecordingSink(BackendPostgres)
	sinks := mustSinks(t, "", sink)
	s := mustStore(t, pool, sinks)
	opts := fastWorkerOptions(nil)
	opts.Poll = time.Hour
	runWorker(t, mustWorker(t, pool, sinks, opts))
	for range 3 {
		ids := addEvents(t, s, 1, team)
		sink.waitUntil(ctx, t, func() bool {
			got, _ := sink.snapshot()
			return got[ids[0]] == 1
		})
	}
}

func TestNotifyTriggers(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, ch := range []string{WakeChannel, tenants.NotifyChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			t.Fatal(err)
		}
	}
	s := mustStore(t, pool, mustSinks(t, BackendWeaviate, NewPostgresSink(pool), newRecordingSink(BackendWeaviate)))
	addEvents(t, s, 300, team) // one statement: one notice, not 300
	if _, err := s.SetSettings(ctx, team, TeamSettings{EmbedModel: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseUser(ctx, team, "user0"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_notify('attach_memory', 'end')"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, n.Channel+":"+n.Payload)
		if n.Payload == "end" {
			break
		}
	}
	want := []string{WakeChannel + ":memory_outbox", tenants.NotifyChannel + ":" + team, WakeChannel + ":memory_erasures", WakeChannel + ":end"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("notices %v\nwant %v", got, want)
	}
}

// The worker stops promptly and leaves claimed rows for the next one.
func TestWorkerStops(t *testing.T) {
	t.Parallel()
	pool := pgtestNew(t)
	team := mustTeam(t, pool, "a")
	sink := newRecordingSink(BackendPostgres)
	sinks := mustSinks(t, "", sink)
	addEvents(t, mustStore(t, pool, sinks), 10, team)
	w := mustWorker(t, pool, sinks, fastWorkerOptions(nil))
	ctx, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	sink.waitUntil(testCtx(t), t, func() bool {
		got, _ := sink.snapshot()
		return len(got) == 10
	})
	cancel()
	wg.Wait()
}

// Once a team's sink takes a batch again, the team's events that were
// backing off after many failures go at once, not after their long wait.
func TestRecoveryResumesBackedOffEvents(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	sink := newRecordingSink(BackendPostgres)
	sink.setFailures(-1)
	sinks := mustSinks(t, "", sink)
	s := mustStore(t, pool, sinks)
	old := addEvents(t, s, 10, team)

	opts := fastWorkerOptions(nil)
	opts.MaxBackoff = time.Hour
	runWorker(t, mustWorker(t, pool, sinks, opts))
	sink.waitUntil(ctx, t, func() bool {
		var failed int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM memory_outbox WHERE attempts > 0`).Scan(&failed)
		return err == nil && failed == len(old)
	})
	// As after a long outage: many failures, the next try an hour away.
	if _, err := pool.Exec(ctx, `UPDATE memory_outbox SET attempts = 12, next_attempt_at = now() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}

	sink.setFailures(0)
	fresh := addEvents(t, s, 1, team)
	sink.waitUntil(ctx, t, func() bool {
		got, _ := sink.snapshot()
		for _, id := range append(old, fresh...) {
			if got[id] == 0 {
				return false
			}
		}
		return outboxCount(t, pool) == 0
	})
}
