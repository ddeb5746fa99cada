package memory

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// spillSetup is a recorder writing through a link that can be cut, with a
// journal in a folder of its own, and the team it records for.
type spillSetup struct {
	ctx     context.Context
	pool    *pgxpool.Pool // direct, for checking what is stored
	link    *testkit.Link
	dsn     string // the database through link
	journal string // the journal's folder
	team    string
	metrics *Metrics
}

func newSpillSetup(t *testing.T) *spillSetup {
	t.Helper()
	ctx, pool, team := newTeamDB(t, "a")
	link, dsn := testkit.PostgresLink(t, pool)
	return &spillSetup{ctx: ctx, pool: pool, link: link, dsn: dsn, journal: t.TempDir(), team: team, metrics: testMetrics(t, pool)}
}

func (s *spillSetup) recorder(t *testing.T, opts RecorderOptions) *Recorder {
	t.Helper()
	j, err := OpenJournal(s.journal, 64<<20, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	opts.Journal, opts.Metrics = j, s.metrics
	opts.Logger = quietLogger()
	r, err := NewRecorder(openPool(t, s.dsn), queuedSinks(t), followTeams(t, s.pool), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// stored counts the events and outbox rows in Postgres, and the distinct
// event ids: equal counts mean nothing was stored twice.
func (s *spillSetup) stored(t *testing.T) (events, distinct, outbox int) {
	t.Helper()
	err := s.pool.QueryRow(s.ctx, `SELECT (SELECT count(*) FROM memory_events), (SELECT count(DISTINCT id) FROM memory_events),
		(SELECT count(*) FROM memory_outbox)`).Scan(&events, &distinct, &outbox)
	if err != nil {
		t.Fatal(err)
	}
	return events, distinct, outbox
}

func (s *spillSetup) waitStored(t *testing.T, r *Recorder, want int) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if n, _, _ := s.stored(t); n >= want && r.Journaled() == 0 {
			return
		}
		select {
		case <-s.ctx.Done():
			n, _, _ := s.stored(t)
			t.Fatalf("%d events stored, %d bytes journaled; want %d stored, none journaled", n, r.Journaled(), want)
		case <-tick.C:
		}
	}
}

// While Postgres is away, exchanges go to the journal and Record never
// waits; when it is back, the journal is replayed, every event stored
// once, with its outbox row.
func TestRecorderJournalsWhilePostgresIsAway(t *testing.T) {
	t.Parallel()
	s := newSpillSetup(t)
	r := s.recorder(t, RecorderOptions{BatchSize: 10})
	r.Record(chatExchange(s.team, "u", "s", "before"))
	s.waitStored(t, r, 2)

	s.link.Cut()
	const during = 50
	for i := range during {
		r.Record(chatExchange(s.team, "u", "s", "during "+strconv.Itoa(i)))
	}
	waitUntil(t, s.ctx, "events journaled", func() bool {
		return value(t, s.metrics.journaled) == 2*during
	})
	if st := r.Status(); st.Journaled != 2*during || st.Since.IsZero() || st.JournaledBytes == 0 || st.Full || st.Dropped != 0 {
		t.Fatalf("status with Postgres away = %+v; want %d events journaled since a time, not full", st, 2*during)
	}
	if n, _, _ := s.stored(t); n != 2 {
		t.Fatalf("%d events stored with Postgres away", n)
	}
	if w := value(t, s.metrics.waits); w != 0 {
		t.Fatalf("Record waited %v times with Postgres away", w)
	}

	s.link.Mend()
	s.waitStored(t, r, 2+2*during)
	if st := r.Status(); st.Journaled != 0 || !st.Since.IsZero() {
		t.Fatalf("status once replayed = %+v; want nothing journaled", st)
	}
	events, distinct, outbox := s.stored(t)
	if events != 2+2*during || distinct != events || outbox != events {
		t.Fatalf("%d events (%d distinct), %d outbox rows; want %d of each", events, distinct, outbox, 2+2*during)
	}
	if got := value(t, s.metrics.replayed); got != 2*during {
		t.Fatalf("replayed metric = %v, want %d", got, 2*during)
	}
}

// Closing with Postgres away loses nothing: what is queued goes to the
// journal, and the next recorder on the same journal (a restarted gateway)
// replays it, also a batch whose commit happened but whose answer was
// lost, stored once.
func TestRecorderJournalOutlivesARestart(t *testing.T) {
	t.Parallel()
	s := newSpillSetup(t)
	first := s.recorder(t, RecorderOptions{})
	s.link.Cut()
	for i := range 10 {
		first.Record(chatExchange(s.team, "u", "s", "q"+strconv.Itoa(i)))
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close with Postgres away: %v", err)
	}
	if n, _, _ := s.stored(t); n != 0 {
		t.Fatalf("%d events stored with Postgres away", n)
	}

	// One journaled batch reached Postgres after all: its answer was lost.
	j, err := OpenJournal(s.journal, 64<<20, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, batches, ok, err := j.Oldest()
	j.Close()
	if err != nil || !ok || len(batches) == 0 {
		t.Fatalf("journal after Close: %d batches, %v %v", len(batches), ok, err)
	}
	committed := batches[0]
	tx, err := s.pool.Begin(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := insertEvents(s.ctx, tx, committed, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(s.ctx); err != nil {
		t.Fatal(err)
	}

	s.link.Mend()
	second := s.recorder(t, RecorderOptions{})
	s.waitStored(t, second, 20)
	events, distinct, outbox := s.stored(t)
	if events != 20 || distinct != 20 || outbox != 20 {
		t.Fatalf("%d events (%d distinct), %d outbox rows; want 20 of each", events, distinct, outbox)
	}
}

// With the journal full and Postgres away, a refusing recorder turns new
// requests away (Admit), and a dropping one drops and counts.
func TestRecorderWhenFull(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{OnFullRefuse, OnFullDrop} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			s := newSpillSetup(t)
			r := s.recorder(t, RecorderOptions{QueueSize: 4, BatchSize: 1, Writers: 1, OnFull: policy})
			if err := r.Admit(s.team); err != nil {
				t.Fatalf("Admit with room: %v", err)
			}
			r.journal.mu.Lock()
			r.journal.max = 1 // nothing fits
			r.journal.mu.Unlock()
			s.link.Cut()
			for i := range 12 {
				if policy == OnFullRefuse && r.Full() {
					break
				}
				r.Record(chatExchange(s.team, "u", "s", "q"+strconv.Itoa(i)))
			}
			waitUntil(t, s.ctx, "the recorder full", r.Full)
			err := r.Admit(s.team)
			switch policy {
			case OnFullRefuse:
				if attach.AsError(err) == nil || attach.AsError(err).Reason != "memory_full" || value(t, s.metrics.refused) != 1 {
					t.Fatalf("Admit when full = %v", err)
				}
			case OnFullDrop:
				if err != nil || value(t, s.metrics.dropped) == 0 {
					t.Fatalf("Admit = %v, dropped = %v", err, value(t, s.metrics.dropped))
				}
			}
			st := r.Status()
			if !st.Full || st.OnFull != policy || float64(st.Dropped) != value(t, s.metrics.dropped) {
				t.Fatalf("status when full = %+v; want full, %s, %v dropped", st, policy, value(t, s.metrics.dropped))
			}
			s.link.Mend()
		})
	}
}

// waitUntil polls cond until it holds or the test's context ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-tick.C:
		}
	}
}
