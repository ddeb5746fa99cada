package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

const mcpCredential = "mcp-upstream-credential-6655"

func TestManagementAPIMCPServers(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	team := admin.post("/teams", `{"slug":"research","name":"Research"}`, 201)
	admin.post("/teams", `{"slug":"rival","name":"Rival"}`, 201)

	m := admin.post("/teams/research/mcp-servers", `{"name":"files","url":"http://127.0.0.1:9/mcp","credential":"`+mcpCredential+`"}`, 201)
	id, _ := m["id"].(string)
	if m["name"] != "files" || m["url"] != "http://127.0.0.1:9/mcp" || m["has_credential"] != true || id == "" {
		t.Fatalf("created: %v", m)
	}
	if m["gateway_url"] != gw.cfg.PublicURL+"/t/research/mcp/files" {
		t.Errorf("gateway_url = %v", m["gateway_url"])
	}
	if strings.Contains(mustJSON(m), mcpCredential) {
		t.Fatal("the credential is in the API's answer")
	}
	admin.post("/teams/research/mcp-servers", `{"name":"files","url":"http://127.0.0.1:9/mcp"}`, 409)

	// Bad input is refused with the field named.
	for body, field := range map[string]string{
		`{"name":"Files","url":"http://127.0.0.1:9/mcp"}`:              "name",
		`{"name":"x","url":"ftp://127.0.0.1/mcp"}`:                     "url",
		`{"name":"x","url":"http://127.0.0.1:9/mcp?token=1"}`:          "url",
		`{"name":"x","url":"http://169.254.169.254/mcp"}`:              "url",
		`{"name":"x","url":"http://127.0.0.1:9/","credential":"a\nb"}`: "credential",
	} {
		got := admin.post("/teams/research/mcp-servers", body, 422)
		e, _ := got["error"].(map[string]any)
		if e["field"] != field {
			t.Errorf("%s: error %v, want field %s", body, e, field)
		}
	}
	admin.post("/teams/research/mcp-servers", `{"name":"x","url":"http://127.0.0.1:9/","extra":1}`, 400)

	// The row holds the credential sealed; the directory holds it in clear.
	var sealed []byte
	if err := gw.pool.QueryRow(t.Context(), "SELECT credential_enc FROM mcp_servers WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(mcpCredential)) {
		t.Fatalf("stored credential: %q", sealed)
	}
	waitFor(t, "the MCP server in the directory", func() bool {
		s, ok := gw.dir.Team("research")
		if !ok {
			return false
		}
		got, ok := s.MCPServer("files")
		return ok && got.Credential == mcpCredential
	})

	list := admin.do("GET", "/teams/research/mcp-servers", "", 200)
	if items, _ := list["items"].([]any); len(items) != 1 || strings.Contains(mustJSON(list), mcpCredential) {
		t.Fatalf("list: %v", list)
	}
	if got := admin.do("GET", "/teams/research/mcp-servers/files", "", 200); got["id"] != id {
		t.Fatalf("get: %v", got)
	}

	// PUT renames and keeps the credential when it is left out; "" removes it.
	upd := admin.do("PUT", "/teams/research/mcp-servers/files", `{"name":"docs","url":"http://127.0.0.1:10/mcp"}`, 200)
	if upd["name"] != "docs" || upd["has_credential"] != true || upd["gateway_url"] != gw.cfg.PublicURL+"/t/research/mcp/docs" {
		t.Fatalf("put: %v", upd)
	}
	admin.do("GET", "/teams/research/mcp-servers/files", "", 404)
	upd = admin.do("PUT", "/teams/research/mcp-servers/docs", `{"name":"docs","url":"http://127.0.0.1:10/mcp","credential":""}`, 200)
	if upd["has_credential"] != false {
		t.Fatalf("put clearing the credential: %v", upd)
	}

	// Another team sees nothing and changes nothing.
	admin.do("GET", "/teams/rival/mcp-servers/docs", "", 404)
	admin.do("PUT", "/teams/rival/mcp-servers/docs", `{"name":"stolen","url":"http://127.0.0.1:9/mcp"}`, 404)
	admin.do("DELETE", "/teams/rival/mcp-servers/docs", "", 404)
	if items := admin.do("GET", "/teams/rival/mcp-servers", "", 200)["items"].([]any); len(items) != 0 {
		t.Fatalf("rival lists %v", items)
	}
	if e := admin.do("GET", "/teams/rival/mcp-servers/docs", "", 404)["error"].(map[string]any); e["message"] != "no such MCP server" {
		t.Errorf("not found message: %v", e)
	}

	admin.do("DELETE", "/teams/research/mcp-servers/docs", "", 204)
	admin.do("DELETE", "/teams/research/mcp-servers/docs", "", 404)
	waitFor(t, "the MCP server gone from the directory", func() bool {
		s, _ := gw.dir.Team("research")
		_, ok := s.MCPServer("docs")
		return !ok
	})

	// Every change is audited, never with the credential.
	entries, _, err := gw.store.ListAudit(t.Context(), team["id"].(string), tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.TargetType == "mcp_server" {
			actions = append(actions, e.Action+":"+e.ActorName)
		}
		if strings.Contains(mustJSON(e), mcpCredential) {
			t.Fatalf("audit holds the credential: %v", e)
		}
	}
	want := "mcp_server.delete:admin token,mcp_server.update:admin token,mcp_server.update:admin token,mcp_server.create:admin token"
	if strings.Join(actions, ",") != want {
		t.Fatalf("audit = %v\nwant    %s", actions, want)
	}
}
