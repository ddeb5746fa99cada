package migrations_test

import (
	"strings"
	"testing"
)

// Migration 14: MCP servers are stored per team, a change to one is
// announced on attach_config, and memory takes tool_call events; down to
// 12 the table is gone and tool_call is refused again.
func TestMCPServersDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000a140"
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'mcp', 'MCP')")
	insertServer := func(id, name string) error {
		_, err := p.Exec(ctx, "INSERT INTO mcp_servers (id, team_id, name, url) VALUES ($1, $2, $3, 'http://x/mcp')", id, team, name)
		return err
	}
	insertToolCall := func(id string) error {
		_, err := p.Exec(ctx, "INSERT INTO memory_events (id, team_id, kind, content) VALUES ($1, $2, 'tool_call', 'echo')", id, team)
		return err
	}
	if err := insertServer("0190a1b2-0000-7000-8000-00000000a141", "files"); err != nil {
		t.Fatal(err)
	}
	if err := insertServer("0190a1b2-0000-7000-8000-00000000a142", "files"); err == nil || !strings.Contains(err.Error(), "23505") {
		t.Fatalf("second server with the same name: %v, want a unique violation", err)
	}
	if err := insertToolCall("0190a1b2-0000-7000-8000-00000000a143"); err != nil {
		t.Fatal(err)
	}

	if _, err := prov.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if err := insertToolCall("0190a1b2-0000-7000-8000-00000000a144"); err == nil {
		t.Fatal("down to 12: a tool_call event was stored")
	}
	if err := insertServer("0190a1b2-0000-7000-8000-00000000a145", "other"); err == nil {
		t.Fatal("down to 12: the mcp_servers table is still there")
	}

	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := insertToolCall("0190a1b2-0000-7000-8000-00000000a146"); err != nil {
		t.Fatal(err)
	}
	if err := insertServer("0190a1b2-0000-7000-8000-00000000a147", "files"); err != nil {
		t.Fatal(err)
	}
}
