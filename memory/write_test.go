package memory

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

func noteEvent(t *testing.T, team, content string) attach.Event {
	t.Helper()
	id, err := attach.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return attach.Event{ID: id, TeamID: team, User: "u", Kind: attach.KindNote, Content: content, CreatedAt: time.Now().UTC()}
}

func countEvents(t *testing.T, pool *pgxpool.Pool, team string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(testCtx(t), "SELECT count(*) FROM memory_events WHERE team_id = $1", team).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Deleting a team deletes its events, and its events' outbox rows with
// them, while other teams keep theirs.
func TestDeletingATeamDeletesItsEvents(t *testing.T) {
	t.Parallel()
	ctx, pool, gone := newTeamDB(t, "gone")
	kept := mustTeam(t, pool, "kept")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return insertEvents(ctx, tx, []attach.Event{noteEvent(t, gone, "a"), noteEvent(t, kept, "b")}, func(string) bool { return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM teams WHERE id = $1", gone); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, pool, gone); n != 0 {
		t.Fatalf("%d events of the deleted team left", n)
	}
	if n := countEvents(t, pool, kept); n != 1 {
		t.Fatalf("other team has %d events, want 1", n)
	}
	var queued int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_outbox").Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 1 {
		t.Fatalf("%d outbox rows, want the other team's 1", queued)
	}
}

// A team deleted while a write of its events is under way waits for the
// write, then takes the events with it: none outlives its team.
func TestTeamDeletedDuringAWrite(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "racing")
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := insertEvents(ctx, tx, []attach.Event{noteEvent(t, team, "in flight")}, func(string) bool { return false }); err != nil {
		t.Fatalf("insert: %v", err)
	}
	deleted := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, "DELETE FROM teams WHERE id = $1", team)
		deleted <- err
	}()
	// The delete must wait for the lock the events' key holds on the team.
	// Only this test's database counts: other tests run at the same time.
	waitFor(t, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM teams%')`).Scan(&waiting)
		return err == nil && waiting
	})
	select {
	case err := <-deleted:
		t.Fatalf("team deleted while its events were being written (%v)", err)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, pool, team); n != 0 {
		t.Fatalf("%d events outlived their team", n)
	}

	// Once the team is gone, its events are refused, as permanently so.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return insertEvents(ctx, tx, []attach.Event{noteEvent(t, team, "late")}, func(string) bool { return true })
	})
	if attach.ErrorCode(err) != attach.CodeNotFound || !permanent(err) {
		t.Fatalf("events of a deleted team: %v, want a permanent not found", err)
	}
	if n := countEvents(t, pool, team); n != 0 {
		t.Fatalf("%d events stored for a deleted team", n)
	}
}

// waitFor polls cond until it holds or the test's context ends.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition never held")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Every column survives the binary COPY: text in any script, empty and
// NULL metadata, both truth values, and times to the microsecond, also
// before 2000, where Postgres counts backwards.
func TestInsertEventsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "trip")
	at := time.Date(2026, 11, 26, 3, 4, 5, 123456000, time.UTC)
	var in []attach.Event
	for i, e := range []attach.Event{
		{User: "alice@example.com", Session: "s-1", Kind: attach.KindPrompt, Role: "user", Model: "llama3", Engine: "local",
			Content: "Grüße, 世界! \"quoted\" \\ back\nslash", Metadata: []byte(`{"path":"/api/chat","stream":true,"n":[1,2]}`), CreatedAt: at},
		{User: "bob", Kind: attach.KindResponse, Role: "assistant", Content: "", Truncated: true, TaskID: "task-7", CreatedAt: at.Add(time.Microsecond)},
		{User: "carol", Kind: attach.KindNote, Content: "old", Metadata: []byte(`{}`), CreatedAt: time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	} {
		e.ID = noteEvent(t, team, "").ID
		e.TeamID = team
		if i == 0 {
			e.User = "alice\x00@example.com" // NUL is dropped on the way in
		}
		in = append(in, e)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return insertEvents(ctx, tx, in, func(string) bool { return false })
	})
	if err != nil {
		t.Fatal(err)
	}
	in[0].User = "alice@example.com"
	for _, want := range in {
		got, err := scanEvent(pool.QueryRow(ctx, "SELECT "+eventSelect+" FROM memory_events WHERE id = $1", want.ID))
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("created_at %v, want %v", got.CreatedAt, want.CreatedAt)
		}
		got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
		gotMeta, wantMeta := string(got.Metadata), string(want.Metadata)
		got.Metadata, want.Metadata = nil, nil
		if got.ID != want.ID || got.TeamID != want.TeamID || got.User != want.User || got.Session != want.Session ||
			got.Kind != want.Kind || got.Role != want.Role || got.Model != want.Model || got.Engine != want.Engine ||
			got.Content != want.Content || got.Truncated != want.Truncated || got.TaskID != want.TaskID {
			t.Errorf("read back\n%+v\nwant\n%+v", got, want)
		}
		// jsonb normalises spacing; compare documents.
		if (gotMeta == "") != (wantMeta == "") || (wantMeta != "" && !jsonEqual(t, gotMeta, wantMeta)) {
			t.Errorf("metadata %q, want %q", gotMeta, wantMeta)
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
