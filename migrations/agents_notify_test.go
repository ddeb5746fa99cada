package migrations_test

import (
	"context"
	"testing"
	"time"
)

// Migration 10: a change to a team's agent is announced on attach_config
// with the team id, so every replica's directory reloads the team; down to
// 9, agents change silently.
func TestAgentsNotifyDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000a010"
	const agent = "0190a1b2-0000-7000-8000-00000000a011"
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'agents', 'Agents')")
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN attach_config"); err != nil {
		t.Fatal(err)
	}
	// change writes the agent and returns the notices it caused.
	change := func(version string) []string {
		t.Helper()
		exec(t, p, `INSERT INTO agents (id, team_id, name, base_url, version) VALUES ('`+agent+`', '`+team+`', 'bot', 'http://x', '`+version+`')
			ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version`,
			"SELECT pg_notify('attach_config', 'end')")
		var got []string
		for {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			n, err := conn.Conn().WaitForNotification(wctx)
			cancel()
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			if n.Payload == "end" {
				return got
			}
			got = append(got, n.Payload)
		}
	}
	if got := change("auto"); len(got) != 1 || got[0] != team {
		t.Fatalf("up: notices %v, want %s", got, team)
	}
	if _, err := prov.DownTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if got := change("0.3"); len(got) != 0 {
		t.Fatalf("down to 9: notices %v, want none", got)
	}
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got := change("1.0"); len(got) != 1 || got[0] != team {
		t.Fatalf("up again: notices %v, want %s", got, team)
	}
}
