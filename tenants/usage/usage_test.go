package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newTeam(t *testing.T, pool *pgxpool.Pool, slug string) string {
	t.Helper()
	var id string
	if err := pool.QueryRow(testCtx(t), "INSERT INTO teams (id, slug, name) VALUES (gen_random_uuid(), $1, $1) RETURNING id::text", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

var t0 = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func rec(team, user, key, model string, at time.Time, in, out int) attach.Usage {
	return attach.Usage{TeamID: team, User: user, KeyID: key, Engine: "gpu", Model: model, Path: "/api/chat",
		PromptTokens: in, CompletionTokens: out, Status: 200, Latency: 120 * time.Millisecond, Time: at}
}

func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(testCtx(t), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two batches in the same minute add up in one minute row; every exchange
// keeps its raw row; a record of a team deleted meanwhile is skipped
// without failing the batch.
func TestWriteAddsRecordsAndMinuteSums(t *testing.T) {
	pool := pgtest.New(t)
	s, ctx := NewStore(pool), testCtx(t)
	team := newTeam(t, pool, "acme")
	failed := rec(team, "alice", "", "tiny", t0.Add(20*time.Second), 1, 0)
	failed.Status = 502
	estimated := rec(team, "alice", "", "tiny", t0.Add(50*time.Second), 4, 4)
	estimated.Estimated = true
	if err := s.Write(ctx, []attach.Usage{rec(team, "alice", "", "tiny", t0.Add(time.Second), 10, 5), failed}); err != nil {
		t.Fatal(err)
	}
	gone := "00000000-0000-0000-0000-000000000001"
	if err := s.Write(ctx, []attach.Usage{estimated, rec(gone, "bob", "", "tiny", t0, 1, 1), rec(team, "alice", "", "tiny", t0.Add(time.Minute), 7, 7)}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_records"); n != 4 {
		t.Errorf("%d raw records, want 4 (the deleted team's skipped)", n)
	}
	var requests, prompt, completion, est, fails int64
	if err := pool.QueryRow(ctx, `SELECT requests, prompt_tokens, completion_tokens, estimated_requests, failed_requests
		FROM usage_minutes WHERE team_id = $1 AND minute = $2`, team, t0).Scan(&requests, &prompt, &completion, &est, &fails); err != nil {
		t.Fatal(err)
	}
	if requests != 3 || prompt != 15 || completion != 9 || est != 1 || fails != 1 {
		t.Errorf("minute 10:00 sums: requests %d prompt %d completion %d estimated %d failed %d", requests, prompt, completion, est, fails)
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_minutes"); n != 2 {
		t.Errorf("%d minute rows, want 2", n)
	}
	var latency int
	var keyID string
	if err := pool.QueryRow(ctx, "SELECT latency_ms, key_id FROM usage_records WHERE prompt_tokens = 10").Scan(&latency, &keyID); err != nil || latency != 120 || keyID != "" {
		t.Errorf("raw record: latency %d key %q (%v)", latency, keyID, err)
	}
}

func TestSumsSplitByIntervalAndGroup(t *testing.T) {
	pool := pgtest.New(t)
	s, ctx := NewStore(pool), testCtx(t)
	team, other := newTeam(t, pool, "acme"), newTeam(t, pool, "other")
	err := s.Write(ctx, []attach.Usage{
		rec(team, "alice", "", "tiny", t0, 10, 1),
		rec(team, "alice", "", "big", t0.Add(90*time.Second), 20, 2),
		rec(team, "apikey:k1", "k1", "tiny", t0.Add(70*time.Minute), 30, 3),
		rec(other, "carol", "", "tiny", t0, 1000, 1000),
	})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{TeamID: team, From: t0.Add(-time.Hour), To: t0.Add(3 * time.Hour), Interval: "hour"}
	sums := func(q Query) []Bucket {
		t.Helper()
		b, err := s.Sums(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got := sums(q)
	if len(got) != 2 || !got[0].Start.Equal(t0) || got[0].Requests != 2 || got[0].PromptTokens != 30 || got[0].TotalTokens != 33 ||
		!got[1].Start.Equal(t0.Add(time.Hour)) || got[1].PromptTokens != 30 || got[0].Group != nil {
		t.Errorf("hourly: %+v", got)
	}
	q.Interval = "minute"
	if got := sums(q); len(got) != 3 || !got[1].Start.Equal(t0.Add(time.Minute)) {
		t.Errorf("by minute: %+v", got)
	}
	q.Interval, q.GroupBy = "day", "model"
	got = sums(q)
	if len(got) != 2 || *got[0].Group != "big" || got[0].PromptTokens != 20 || *got[1].Group != "tiny" || got[1].PromptTokens != 40 {
		t.Errorf("daily by model: %+v", got)
	}
	q.GroupBy = "key"
	if got := sums(q); len(got) != 2 || *got[0].Group != "" || *got[1].Group != "k1" || got[1].Requests != 1 {
		t.Errorf("by key: %+v", got)
	}
	q.GroupBy, q.Subject = "user", "alice"
	if got := sums(q); len(got) != 1 || *got[0].Group != "alice" || got[0].Requests != 2 {
		t.Errorf("alice's own: %+v", got)
	}
	all := Query{From: t0.Add(-time.Hour), To: t0.Add(3 * time.Hour), Interval: "day", GroupBy: "team"}
	if got := sums(all); len(got) != 2 || got[0].Requests+got[1].Requests != 4 {
		t.Errorf("every team: %+v", got)
	}
	if got := sums(Query{TeamID: team, From: t0.Add(time.Hour), To: t0.Add(65 * time.Minute), Interval: "minute"}); len(got) != 0 {
		t.Errorf("an empty range: %+v", got)
	}
}

func TestPruneKeepsWhatIsRecent(t *testing.T) {
	pool := pgtest.New(t)
	s, ctx := NewStore(pool), testCtx(t)
	team := newTeam(t, pool, "acme")
	now := time.Now().UTC()
	err := s.Write(ctx, []attach.Usage{
		rec(team, "a", "", "m", now.Add(-400*24*time.Hour), 1, 1), // past both
		rec(team, "a", "", "m", now.Add(-30*24*time.Hour), 1, 1),  // past raw retention only
		rec(team, "a", "", "m", now.Add(-time.Hour), 1, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	records, minutes, err := s.Prune(ctx, now.Add(-DefaultRawRetention), now.Add(-DefaultRollupRetention))
	if err != nil || records != 2 || minutes != 1 {
		t.Fatalf("pruned %d records, %d minutes (%v); want 2 and 1", records, minutes, err)
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_records"); n != 1 {
		t.Errorf("%d raw records left", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM usage_minutes"); n != 2 {
		t.Errorf("%d minute rows left", n)
	}
}

func TestParseQuery(t *testing.T) {
	now := t0
	groups := []string{"user", "key", "model", "engine"}
	parse := func(params map[string]string) (Query, error) {
		return ParseQuery(func(k string) string { return params[k] }, now, groups)
	}
	q, err := parse(nil)
	if err != nil || q.Interval != "hour" || !q.To.Equal(now) || !q.From.Equal(now.Add(-24*time.Hour)) {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	q, err = parse(map[string]string{"from": "2026-10-01", "to": "2026-11-01T00:00:00Z", "interval": "day", "group_by": "model"})
	if err != nil || q.GroupBy != "model" || !q.From.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v %v", q, err)
	}
	bad := []struct {
		params map[string]string
		field  string
	}{
		{map[string]string{"group_by": "team"}, "group_by"},
		{map[string]string{"group_by": "user;drop"}, "group_by"},
		{map[string]string{"interval": "week"}, "interval"},
		{map[string]string{"from": "yesterday"}, "from"},
		{map[string]string{"to": "1700000000"}, "to"},
		{map[string]string{"from": "2026-11-04"}, "from"},                       // after to
		{map[string]string{"from": "2026-11-01", "interval": "minute"}, "from"}, // two days of minutes
		{map[string]string{"from": "2024-01-01", "interval": "day"}, "from"},    // beyond 13 months
	}
	for _, b := range bad {
		_, err := parse(b.params)
		if e := attach.AsError(err); e == nil || e.Code != attach.CodeInvalid || e.Field != b.field {
			t.Errorf("%v: %v, want a validation error on %s", b.params, err, b.field)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The ledger writes in the background; with Postgres away it keeps up to
// its bound, counts what it drops beyond, and writes what it kept once
// Postgres is back. Measure never blocks meanwhile.
func TestLedgerOutage(t *testing.T) {
	direct := pgtest.New(t)
	team := newTeam(t, direct, "acme")
	link, dsn := testkit.PostgresLink(t, direct)
	pool, err := pgxpool.New(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l := New(pool, Config{Buffer: 50, FlushEvery: 20 * time.Millisecond, BatchSize: 10, Logger: quietLog()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	for i := range 5 {
		l.Measure(rec(team, "alice", "", "tiny", t0.Add(time.Duration(i)*time.Second), 1, 1))
	}
	waitFor(t, "the first records written", func() bool { return l.Stats().Written == 5 })

	link.Cut()
	for i := range 80 {
		l.Measure(rec(team, "alice", "", "tiny", t0.Add(time.Duration(i)*time.Second), 1, 1))
	}
	waitFor(t, "records beyond the bound dropped", func() bool {
		st := l.Stats()
		return st.Dropped == 30 && st.Pending == 50
	})
	link.Mend()
	waitFor(t, "the kept records written", func() bool { return l.Stats().Written == 55 })
	if n := count(t, direct, "SELECT count(*) FROM usage_records"); n != 55 {
		t.Errorf("%d records in Postgres, want 55", n)
	}
	if n := count(t, direct, "SELECT sum(requests) FROM usage_minutes"); n != 55 {
		t.Errorf("the minute sums count %d requests, want 55", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An answer that would be too long is refused, naming the range.
func TestSumsRefuseTooManyRows(t *testing.T) {
	pool := pgtest.New(t)
	s, ctx := NewStore(pool), testCtx(t)
	team := newTeam(t, pool, "acme")
	records := make([]attach.Usage, MaxRows+1)
	for i := range records {
		records[i] = rec(team, fmt.Sprintf("user-%d", i), "", "tiny", t0, 1, 1)
	}
	if err := s.Write(ctx, records); err != nil {
		t.Fatal(err)
	}
	q := Query{TeamID: team, From: t0, To: t0.Add(time.Hour), Interval: "hour", GroupBy: "user"}
	if _, err := s.Sums(ctx, q); attach.AsError(err) == nil || attach.AsError(err).Field != "from" {
		t.Fatalf("%d groups: %v, want a refusal naming from", len(records), err)
	}
	q.GroupBy = ""
	if b, err := s.Sums(ctx, q); err != nil || len(b) != 1 || b[0].Requests != int64(len(records)) {
		t.Fatalf("ungrouped: %+v %v", b, err)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("2026-11-01", "2026-11-02T10:00:00Z", "minute", "user")
	f.Add("", "", "day", "team")
	f.Add("2026-11-03T09:00:00+02:00", "", "hour", "")
	f.Fuzz(func(t *testing.T, from, to, interval, groupBy string) {
		params := map[string]string{"from": from, "to": to, "interval": interval, "group_by": groupBy}
		q, err := ParseQuery(func(k string) string { return params[k] }, t0, []string{"user", "key", "model", "engine"})
		if err != nil {
			e := attach.AsError(err)
			if e == nil || e.Code != attach.CodeInvalid || params[e.Field] == "" && e.Field != "from" {
				t.Fatalf("%v: %v", params, err)
			}
			return
		}
		longest := Intervals[q.Interval]
		if longest == 0 || !q.From.Before(q.To) || q.To.Sub(q.From) > longest+time.Minute || q.From.Location() != time.UTC {
			t.Fatalf("%v: accepted %+v", params, q)
		}
	})
}
