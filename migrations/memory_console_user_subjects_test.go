package migrations_test

import (
	"testing"
)

// Migration 11 moves console users' events to their own namespace,
// "user:<id>", and queues them for delivery again; events of every other
// subject stay as they are. Down to 9 moves them back.
func TestMemoryConsoleUserSubjectsDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const (
		team  = "0190a1b2-0000-7000-8000-00000000f001"
		alice = "0190a1b2-0000-7000-8000-00000000f0a1"
		// Events: alice's through the console, an issuer's user whose sub
		// is no console user's id, and an API key's.
		byAlice, byIssuer, byKey = "0190a1b2-0000-7000-8000-00000000f101", "0190a1b2-0000-7000-8000-00000000f102", "0190a1b2-0000-7000-8000-00000000f103"
	)
	if _, err := prov.DownTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	exec(t, p,
		"INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'acme', 'Acme')",
		"INSERT INTO users (id, email, name) VALUES ('"+alice+"', 'alice@example.test', 'Alice')",
		userEvent(byAlice, team, alice),
		userEvent(byIssuer, team, "0190a1b2-0000-7000-8000-00000000f0b2"),
		userEvent(byKey, team, "apikey:0190a1b2-0000-7000-8000-00000000f0c3"),
	)
	userOf := func(stage, event, want string) {
		t.Helper()
		var got string
		if err := p.QueryRow(ctx, `SELECT "user" FROM memory_events WHERE id = $1`, event).Scan(&got); err != nil || got != want {
			t.Fatalf("%s: event %s has user %q (%v), want %q", stage, event, got, err, want)
		}
	}
	queued := func(stage string, want ...string) {
		t.Helper()
		var got []string
		if err := p.QueryRow(ctx, "SELECT coalesce(array_agg(event_id::text ORDER BY event_id), '{}') FROM memory_outbox").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Fatalf("%s: outbox holds %v, want %v", stage, got, want)
		}
	}

	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	userOf("up", byAlice, "user:"+alice)
	userOf("up", byIssuer, "0190a1b2-0000-7000-8000-00000000f0b2")
	userOf("up", byKey, "apikey:0190a1b2-0000-7000-8000-00000000f0c3")
	queued("up", byAlice)

	exec(t, p, "DELETE FROM memory_outbox")
	if _, err := prov.DownTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	userOf("down to 9", byAlice, alice)
	userOf("down to 9", byIssuer, "0190a1b2-0000-7000-8000-00000000f0b2")
	queued("down to 9", byAlice)
}

// userEvent is the insert of a note of team by user, with id.
func userEvent(id, team, user string) string {
	return `INSERT INTO memory_events (id, team_id, "user", kind, content) VALUES ('` + id + "', '" + team + "', '" + user + "', 'note', 'remember me')"
}
