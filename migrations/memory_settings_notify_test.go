package migrations_test

import (
	"context"
	"testing"
	"time"
)

// Migration 6: a change to a team's memory settings is announced on
// attach_config; down to 5, on attach_memory_settings again.
func TestMemorySettingsNotifyDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000c001"
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'kept', 'Kept')")
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, ch := range []string{"attach_config", "attach_memory_settings"} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			t.Fatal(err)
		}
	}
	// change sets the team's backend and returns the notices it caused.
	change := func(backend string) []string {
		t.Helper()
		exec(t, p, `INSERT INTO team_memory_settings (team_id, backend) VALUES ('`+team+`', '`+backend+`')
			ON CONFLICT (team_id) DO UPDATE SET backend = EXCLUDED.backend`,
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
			got = append(got, n.Channel+":"+n.Payload)
		}
	}
	check := func(stage string, got []string, want string) {
		t.Helper()
		if len(got) != 1 || got[0] != want {
			t.Fatalf("%s: notices %v, want %s", stage, got, want)
		}
	}
	check("up", change("none"), "attach_config:"+team)

	if _, err := prov.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	check("down to 5", change("postgres"), "attach_memory_settings:"+team)
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	check("up again", change("none"), "attach_config:"+team)
}
