package tenants

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

const mcpSecret = "mcp-upstream-secret-4321"

// storedMCPCredential reads a server's sealed credential and opens it the
// way the directory does.
func storedMCPCredential(t *testing.T, s *Store, id string) (sealed []byte, plain string) {
	t.Helper()
	if err := s.pool.QueryRow(testCtx(t), "SELECT credential_enc FROM mcp_servers WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed == nil {
		return nil, ""
	}
	p, err := s.sealer.Open(sealed, mcpServerAD(id))
	if err != nil {
		t.Fatalf("open stored credential: %v", err)
	}
	return sealed, string(p)
}

func TestMCPServerCRUD(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")

	m, err := s.CreateMCPServer(ctx, team.ID, MCPServerInput{Name: "files", URL: "https://mcp.example/files/mcp", Credential: ptr(" " + mcpSecret + " ")})
	if err != nil {
		t.Fatal(err)
	}
	if m.URL != "https://mcp.example/files/mcp" || !m.HasCredential || m.Credential != "" || m.TeamID != team.ID {
		t.Fatalf("created = %+v", m)
	}
	sealed, plain := storedMCPCredential(t, s, m.ID)
	if plain != mcpSecret || bytes.Contains(sealed, []byte(mcpSecret)) {
		t.Fatalf("stored credential = %q (sealed %x)", plain, sealed)
	}
	// Sealed for this server: an agent's additional data does not open it.
	if _, err := s.sealer.Open(sealed, agentAD(m.ID)); err == nil {
		t.Fatal("the MCP credential opens as an agent credential")
	}
	if b, _ := json.Marshal(m); strings.Contains(string(b), mcpSecret) || !strings.Contains(string(b), `"has_credential":true`) {
		t.Fatalf("JSON: %s", b)
	}

	if _, err := s.CreateMCPServer(ctx, team.ID, MCPServerInput{Name: "files", URL: "http://x"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate name: err = %v, want conflict", err)
	}
	if _, err := s.CreateMCPServer(ctx, other.ID, MCPServerInput{Name: "files", URL: "http://x"}); err != nil {
		t.Fatalf("same name on another team: %v", err)
	}

	got, err := s.GetMCPServer(ctx, team.ID, "files")
	if err != nil || got.ID != m.ID || !got.HasCredential || got.Credential != "" {
		t.Fatalf("GetMCPServer = %+v, %v", got, err)
	}
	if _, err := s.GetMCPServer(ctx, team.ID, "nobody"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown name: err = %v", err)
	}
	if _, err := s.GetMCPServer(ctx, team.ID, "Bad Name"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("invalid name: err = %v", err)
	}

	// nil keeps the credential; a rename is an update by the old name.
	upd, err := s.UpdateMCPServer(ctx, team.ID, "files", MCPServerInput{Name: "docs", URL: "http://127.0.0.1:9/mcp/"})
	if err != nil || upd.Name != "docs" || upd.URL != "http://127.0.0.1:9/mcp/" || !upd.HasCredential || !upd.UpdatedAt.After(m.UpdatedAt) {
		t.Fatalf("update keeping credential = %+v, %v", upd, err)
	}
	if _, p := storedMCPCredential(t, s, m.ID); p != mcpSecret {
		t.Fatalf("credential after keep = %q", p)
	}
	// "" removes it.
	upd, err = s.UpdateMCPServer(ctx, team.ID, "docs", MCPServerInput{Name: "docs", URL: "http://127.0.0.1:9/mcp", Credential: ptr("")})
	if err != nil || upd.HasCredential {
		t.Fatalf("update clearing credential = %+v, %v", upd, err)
	}
	if sealed, _ := storedMCPCredential(t, s, m.ID); sealed != nil {
		t.Fatal("credential still stored after clearing")
	}
	if _, err := s.UpdateMCPServer(ctx, other.ID, "docs", MCPServerInput{Name: "docs", URL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("update through another team: err = %v", err)
	}
	// Renaming onto a taken name conflicts.
	if _, err := s.CreateMCPServer(ctx, team.ID, MCPServerInput{Name: "search", URL: "http://x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMCPServer(ctx, team.ID, "search", MCPServerInput{Name: "docs", URL: "http://x"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("rename onto a taken name: err = %v", err)
	}

	if err := s.DeleteMCPServer(ctx, other.ID, "search"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("delete through another team: err = %v", err)
	}
	if err := s.DeleteMCPServer(ctx, team.ID, "docs"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMCPServer(ctx, team.ID, "docs"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("second delete: err = %v", err)
	}
	if _, err := s.CreateMCPServer(ctx, "0190a1b2-0000-7000-8000-000000000000", MCPServerInput{Name: "x", URL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("server on missing team: err = %v", err)
	}
}

func TestMCPServerValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	ok := MCPServerInput{Name: "a", URL: "http://127.0.0.1:9999/mcp"}
	with := func(f func(*MCPServerInput)) MCPServerInput { in := ok; f(&in); return in }
	cases := []struct {
		in    MCPServerInput
		field string
	}{
		{with(func(in *MCPServerInput) { in.Name = "" }), "name"},
		{with(func(in *MCPServerInput) { in.Name = "Files" }), "name"},
		{with(func(in *MCPServerInput) { in.Name = "has space" }), "name"},
		{with(func(in *MCPServerInput) { in.Name = "a/b" }), "name"},
		{with(func(in *MCPServerInput) { in.URL = "" }), "url"},
		{with(func(in *MCPServerInput) { in.URL = "mcp.example" }), "url"},
		{with(func(in *MCPServerInput) { in.URL = "ws://mcp.example/mcp" }), "url"},
		{with(func(in *MCPServerInput) { in.URL = "https://user:pw@mcp.example" }), "url"},
		{with(func(in *MCPServerInput) { in.URL = "https://mcp.example/mcp?key=1" }), "url"},
		{with(func(in *MCPServerInput) { in.URL = "https://mcp.example/" + strings.Repeat("x", 2000) }), "url"},
		{with(func(in *MCPServerInput) { in.Credential = ptr("bad\nline") }), "credential"},
		{with(func(in *MCPServerInput) { in.Credential = ptr(strings.Repeat("x", 4097)) }), "credential"},
	}
	for _, c := range cases {
		if _, err := s.CreateMCPServer(ctx, team.ID, c.in); !isValidation(err, c.field) {
			t.Errorf("%+v: err = %v, want invalid %s", c.in, err, c.field)
		}
	}
	if list, _, err := s.ListMCPServers(ctx, team.ID, Page{}); err != nil || len(list) != 0 {
		t.Fatalf("refused servers were stored: %v, %v", list, err)
	}
}

func TestMCPServersListAndAudit(t *testing.T) {
	t.Parallel()
	s, _, _, team := newTeamStore(t, "acme")
	u := mustUser(t, s, "ada@example.test")
	ctx := actorCtx(t, u)
	for _, n := range []string{"m1", "m2", "m3"} {
		if _, err := s.CreateMCPServer(ctx, team.ID, MCPServerInput{Name: n, URL: "http://127.0.0.1:1/mcp", Credential: ptr(mcpSecret)}); err != nil {
			t.Fatal(err)
		}
	}
	first, next, err := s.ListMCPServers(ctx, team.ID, Page{Limit: 2})
	if err != nil || len(first) != 2 || next == "" || first[0].Name != "m1" || !first[0].HasCredential {
		t.Fatalf("first page %v, %q, %v", first, next, err)
	}
	second, next, err := s.ListMCPServers(ctx, team.ID, Page{Limit: 2, After: next})
	if err != nil || len(second) != 1 || next != "" || second[0].Name != "m3" {
		t.Fatalf("second page %v, %q, %v", second, next, err)
	}
	if _, err := s.UpdateMCPServer(ctx, team.ID, "m1", MCPServerInput{Name: "m1", URL: "http://127.0.0.1:2/mcp", Credential: ptr("another-secret-5555")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMCPServer(ctx, team.ID, "m2"); err != nil {
		t.Fatal(err)
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.TargetType != "mcp_server" {
			continue
		}
		actions = append(actions, e.Action+":"+e.TargetName+":"+str(e.Detail["credential"]))
		if e.ActorID != u.ID {
			t.Errorf("%s by %q", e.Action, e.ActorName)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), mcpSecret) || strings.Contains(string(b), "another-secret") {
			t.Errorf("audit entry holds the credential: %s", b)
		}
	}
	want := "mcp_server.delete:m2:,mcp_server.update:m1:set,mcp_server.create:m3:set,mcp_server.create:m2:set,mcp_server.create:m1:set"
	if strings.Join(actions, ",") != want {
		t.Fatalf("audit = %v\nwant    %s", actions, want)
	}
}

// The directory sees an MCP server, its credential in clear, once the
// change is announced, and forgets it when it is removed.
func TestDirectoryFollowsMCPServers(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	s, pool, ctx, team := newTeamStore(t, "acme")
	d := runDirectory(t, pool, testSealer(t), logs)

	m, err := s.CreateMCPServer(ctx, team.ID, MCPServerInput{Name: "files", URL: "http://127.0.0.1:1/mcp", Credential: ptr(mcpSecret)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		_, ok := snap.MCPServer("files")
		return ok
	})
	snap, _ := d.Team("acme")
	got, _ := snap.MCPServer("files")
	if got.ID != m.ID || got.Credential != mcpSecret || !got.HasCredential || got.URL != "http://127.0.0.1:1/mcp" {
		t.Fatalf("directory server = %+v", got)
	}

	if err := s.DeleteMCPServer(ctx, team.ID, "files"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		_, ok := snap.MCPServer("files")
		return !ok
	})
	if strings.Contains(logs.String(), mcpSecret) {
		t.Fatal("the credential reached the log")
	}
}
