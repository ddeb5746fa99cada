package console

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// cutRecorder is a real recorder whose database link the test can cut,
// with a journal of journalMax bytes in a folder of its own.
type cutRecorder struct {
	*memory.Recorder
	link *testkit.Link
}

func newCutRecorder(t *testing.T, pool *pgxpool.Pool, journalMax int64, opts memory.RecorderOptions) *cutRecorder {
	t.Helper()
	link, dsn := testkit.PostgresLink(t, pool)
	through, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(through.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Journal, err = memory.OpenJournal(t.TempDir(), journalMax, quiet)
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quiet
	sinks, err := memory.NewSinks("", memory.NewPostgresSink(through))
	if err != nil {
		t.Fatal(err)
	}
	r, err := memory.NewRecorder(through, sinks, tenants.NewDirectory(pool, nil, quiet), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the link is mended before the recorder
	// flushes what it holds.
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	t.Cleanup(link.Mend)
	return &cutRecorder{Recorder: r, link: link}
}

func chat(team attach.Team, user string) attach.Exchange {
	return attach.Exchange{
		TeamID: team.ID, User: user, Session: "s", Engine: "gpu", Model: "llama3", Path: "/api/chat",
		Status:   200,
		Request:  []byte(`{"model":"llama3","messages":[{"role":"user","content":"hello"}]}`),
		Response: []byte(`{"model":"llama3","message":{"role":"assistant","content":"hi"},"done":true}`),
		Start:    time.Now(),
	}
}

// waitFor polls cond for a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The memory page says how recording goes: normally; with the database
// away, how many events wait in the journal and since when; with the
// journal full, that requests are refused, or their events dropped and how
// many.
func TestMemoryPageSaysHowRecordingGoes(t *testing.T) {
	t.Parallel()
	t.Run("journaling", func(t *testing.T) {
		t.Parallel()
		pool := pgtest.New(t)
		rec := newCutRecorder(t, pool, 64<<20, memory.RecorderOptions{BatchSize: 1})
		m := newMemEnvOn(t, pool, rec)
		owner := m.user("owner")
		team := m.team("journal", owner)
		b := m.signedIn(owner)

		p := b.get(Base + "/t/journal/memory")
		wantContains(t, p, `data-testid="recording-status"`, `data-state="ok"`, "Recording normally")

		rec.link.Cut()
		for range 3 {
			rec.Record(chat(team, owner.ID))
		}
		waitFor(t, "6 events journaled", func() bool { return rec.Status().Journaled == 6 })
		// The console's own reads go straight to the database.
		p = b.get(Base + "/t/journal/memory")
		wantContains(t, p, `data-state="journaling"`, "Database away: events wait in the journal",
			"6 events are held in the gateway&#39;s local journal since "+time.Now().UTC().Format("2006-01-02"))
		wantLacks(t, p, "Recording normally", "dropped")

		rec.link.Mend()
		waitFor(t, "the journal replayed", func() bool { return rec.Status().Journaled == 0 })
		p = b.get(Base + "/t/journal/memory")
		wantContains(t, p, `data-state="ok"`, "Recording normally")
	})
	for _, policy := range []string{memory.OnFullRefuse, memory.OnFullDrop} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.New(t)
			// A journal with room for nothing, and a queue of four.
			rec := newCutRecorder(t, pool, 1, memory.RecorderOptions{QueueSize: 4, BatchSize: 1, Writers: 1, OnFull: policy})
			m := newMemEnvOn(t, pool, rec)
			owner := m.user("owner")
			team := m.team("full", owner)
			b := m.signedIn(owner)

			rec.link.Cut()
			for range 12 {
				if policy == memory.OnFullRefuse && rec.Full() {
					break // Record would wait for room
				}
				rec.Record(chat(team, owner.ID))
			}
			waitFor(t, "the recorder full", rec.Full)
			p := b.get(Base + "/t/full/memory")
			switch policy {
			case memory.OnFullRefuse:
				wantContains(t, p, `data-state="refusing"`, "Journal full: chat requests are refused", "ATTACH_MEM_ON_FULL=refuse")
				wantLacks(t, p, "dropped")
			case memory.OnFullDrop:
				dropped := rec.Status().Dropped
				if dropped == 0 {
					t.Fatal("nothing dropped with the recorder full")
				}
				wantContains(t, p, `data-state="dropping"`, "Journal full: events are dropped", "ATTACH_MEM_ON_FULL=drop",
					plural(int(dropped), "event", "events")+" dropped so far")
			}
			wantLacks(t, p, "Recording normally")
		})
	}
}

// The words for each state, with the figures an operator needs.
func TestDescribeRecording(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	since := now.Add(-90 * time.Second)
	held := memory.RecorderStatus{OnFull: memory.OnFullRefuse, Journaled: 40, JournaledBytes: 2048, JournalMax: 1 << 20, Since: since}
	r := describeRecording(held, now)
	if r.State != "journaling" || !strings.Contains(r.Detail, "40 events are held in the gateway's local journal since 2026-12-06 02:58:30 UTC, for 2 minutes; 2 KiB of its 1 MiB used.") {
		t.Fatalf("journaling: %+v", r)
	}
	full := held
	full.Full, full.OnFull, full.Dropped = true, memory.OnFullDrop, 7
	if r := describeRecording(full, now); r.State != "dropping" || !strings.Contains(r.Detail, "7 events dropped so far") || r.Note != "" {
		t.Fatalf("dropping: %+v", r)
	}
	after := memory.RecorderStatus{OnFull: memory.OnFullDrop, Dropped: 1}
	if r := describeRecording(after, now); r.State != "ok" || r.Detail != "" || r.Note != "1 event was dropped since the gateway started, while its journal was full." {
		t.Fatalf("ok after drops: %+v", r)
	}
}
