package migrations_test

import (
	"testing"
)

// Migration 7 puts back the key from memory events to teams. Down to 6 and
// up again under data: existing events and their outbox rows stay, an
// event that outlived its team meanwhile goes, and deleting a team both
// deletes its events and queues the erasure of the whole team.
func TestMemoryEventsTeamKeyDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const (
		kept, gone, never = "0190a1b2-0000-7000-8000-00000000b001", "0190a1b2-0000-7000-8000-00000000b002", "0190a1b2-0000-7000-8000-00000000b003"
		keptEvent         = "0190a1b2-0000-7000-8000-00000000e001"
	)
	exec(t, p,
		"INSERT INTO teams (id, slug, name) VALUES ('"+kept+"', 'kept', 'Kept'), ('"+gone+"', 'gone', 'Gone')",
		event(keptEvent, kept),
		"INSERT INTO memory_outbox (event_id, team_id) VALUES ('"+keptEvent+"', '"+kept+"')",
	)
	count := func(stage, query string, want int) {
		t.Helper()
		var n int
		if err := p.QueryRow(ctx, query).Scan(&n); err != nil || n != want {
			t.Fatalf("%s: %s = %d (%v), want %d", stage, query, n, err, want)
		}
	}
	// refused says whether an event of a team that does not exist is
	// refused; a stored one is removed again.
	refused := func() bool {
		t.Helper()
		_, err := p.Exec(ctx, event("0190a1b2-0000-7000-8000-00000000e0ff", never))
		exec(t, p, "DELETE FROM memory_events WHERE team_id = '"+never+"'")
		return err != nil
	}
	// deleteTeam deletes gone with an event and checks what follows.
	deleteTeam := func(stage string) {
		t.Helper()
		exec(t, p,
			"INSERT INTO teams (id, slug, name) VALUES ('"+gone+"', 'gone', 'Gone') ON CONFLICT DO NOTHING",
			event("0190a1b2-0000-7000-8000-00000000e002", gone),
			"DELETE FROM teams WHERE id = '"+gone+"'")
		count(stage, "SELECT count(*) FROM memory_events WHERE team_id = '"+gone+"'", 0)
		count(stage, `SELECT count(*) FROM memory_erasures WHERE team_id = '`+gone+`' AND "user" = ''`, 1)
		count(stage, "SELECT count(*) FROM memory_events WHERE team_id = '"+kept+"'", 1)
		count(stage, "SELECT count(*) FROM memory_outbox", 1)
	}

	if !refused() {
		t.Fatal("up: an event of a team that does not exist was stored")
	}
	deleteTeam("up")

	if _, err := prov.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if refused() {
		t.Fatal("down to 6: the key is still there")
	}
	deleteTeam("down to 6") // by the trigger alone
	// An event that outlives its team, as one written around the gateway
	// could before the key: going up drops it.
	exec(t, p, event("0190a1b2-0000-7000-8000-00000000e003", never))

	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	count("up again", "SELECT count(*) FROM memory_events WHERE team_id = '"+never+"'", 0)
	if !refused() {
		t.Fatal("up again: an event of a team that does not exist was stored")
	}
	deleteTeam("up again")
}

// event is the insert of a note of team with id.
func event(id, team string) string {
	return "INSERT INTO memory_events (id, team_id, kind, content) VALUES ('" + id + "', '" + team + "', 'note', 'remember me')"
}
