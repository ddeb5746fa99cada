package migrations_test

import (
	"testing"
)

// Migration 4 reshapes memory_events under existing data. Going down to 3
// and up again keeps every event, its metadata and its outbox row, and the
// cascades still hold afterwards.
func TestLeanWritesDownAndUpKeepEvents(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team, event = "0190a1b2-0000-7000-8000-00000000beef", "0190a1b2-0000-7000-8000-00000000e001"
	for _, q := range []string{
		"INSERT INTO teams (id, slug, name) VALUES ('" + team + "', 'kept', 'Kept')",
		`INSERT INTO memory_events (id, team_id, kind, content, metadata) VALUES ('` + event + `', '` + team + `', 'note', 'remember me', '{"b":1,"a":[true]}')`,
		"INSERT INTO memory_outbox (event_id, team_id) VALUES ('" + event + "', '" + team + "')",
	} {
		if _, err := p.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func(stage string) {
		t.Helper()
		var events, queued int
		var meta string
		err := p.QueryRow(ctx, `SELECT (SELECT count(*) FROM memory_events), (SELECT count(*) FROM memory_outbox),
			(SELECT metadata::text FROM memory_events)`).Scan(&events, &queued, &meta)
		if err != nil || events != 1 || queued != 1 || (meta != `{"b":1,"a":[true]}` && meta != `{"a": [true], "b": 1}`) {
			t.Fatalf("%s: %d events, %d queued, metadata %s (%v)", stage, events, queued, meta, err)
		}
	}
	check("up")

	if _, err := prov.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	check("down to 3")
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	check("up again")

	// Deleting the team takes its events, and their outbox rows with them.
	if _, err := p.Exec(ctx, "DELETE FROM teams WHERE id = $1", team); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := p.QueryRow(ctx, "SELECT (SELECT count(*) FROM memory_events) + (SELECT count(*) FROM memory_outbox)").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows left of a deleted team (%v)", left, err)
	}
}
