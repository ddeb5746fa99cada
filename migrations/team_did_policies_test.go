package migrations_test

import (
	"context"
	"testing"
	"time"
)

// Migration 13: a team's DID policy is a row of team_did_policies; writing
// or deleting it is announced on attach_config with the team id, so every
// replica's directory reloads the team; the row goes with its team; down to
// 12 the table is gone, and up again it is back.
func TestTeamDIDPoliciesNotifyDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000a013"
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'dids', 'DIDs')")
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN attach_config"); err != nil {
		t.Fatal(err)
	}
	// notices runs stmt and returns the notices it caused.
	notices := func(stmt string) []string {
		t.Helper()
		exec(t, p, stmt, "SELECT pg_notify('attach_config', 'end')")
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
	upsert := `INSERT INTO team_did_policies (team_id, methods) VALUES ('` + team + `', '{key}')
		ON CONFLICT (team_id) DO UPDATE SET methods = '{key,web}'`
	if got := notices(upsert); len(got) != 1 || got[0] != team {
		t.Fatalf("insert: notices %v, want %s", got, team)
	}
	if got := notices(upsert); len(got) != 1 || got[0] != team {
		t.Fatalf("update: notices %v, want %s", got, team)
	}
	if got := notices("DELETE FROM team_did_policies WHERE team_id = '" + team + "'"); len(got) != 1 || got[0] != team {
		t.Fatalf("delete: notices %v, want %s", got, team)
	}

	if _, err := prov.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := p.QueryRow(ctx, "SELECT to_regclass('team_did_policies') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("down to 12: table exists=%v (%v), want gone", exists, err)
	}
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got := notices(upsert); len(got) != 1 || got[0] != team {
		t.Fatalf("up again: notices %v, want %s", got, team)
	}
	// The policy goes with its team.
	exec(t, p, "DELETE FROM teams WHERE id = '"+team+"'")
	var n int
	if err := p.QueryRow(ctx, "SELECT count(*) FROM team_did_policies").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after team delete: %d policies (%v), want 0", n, err)
	}
}
