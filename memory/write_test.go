package memory

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func noteEvent(t *testing.T, team, content string) Event {
	t.Helper()
	id, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	return Event{ID: id, TeamID: team, User: "u", Kind: KindNote, Content: content, CreatedAt: time.Now().UTC()}
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
	ctx := testCtx(t)
	pool := pgtestNew(t)
	gone, kept := mustTeam(t, pool, "gone"), mustTeam(t, pool, "kept")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := insertEvents(ctx, tx, []Event{noteEvent(t, gone, "a"), noteEvent(t, kept, "b")}, func(string) bool { return true })
		return err
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
	ctx := testCtx(t)
	pool := pgtestNew(t)
	team := mustTeam(t, pool, "racing")
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if gone, err := insertEvents(ctx, tx, []Event{noteEvent(t, team, "in flight")}, func(string) bool { return false }); err != nil || gone != 0 {
		t.Fatalf("insert: gone %d, %v", gone, err)
	}
	deleted := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, "DELETE FROM teams WHERE id = $1", team)
		deleted <- err
	}()
	// The delete must wait for the write's lock on the team.
	waitFor(t, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM teams%')`).Scan(&waiting)
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

	// Once the team is gone, its events are not stored at all.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		gone, err := insertEvents(ctx, tx, []Event{noteEvent(t, team, "late")}, func(string) bool { return true })
		if gone != 1 {
			t.Errorf("gone = %d, want 1", gone)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
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
