package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

const (
	mcpSecret      = "mcp-upstream-secret-8765"
	mcpOtherSecret = "mcp-replaced-secret-1234"
)

// mcpCredential loads the team the way the gateway does and returns the
// server's credential as the relay would send it, so a test sees that what
// the console stored is sealed and opens to what the admin typed.
func mcpCredential(t *testing.T, pool *pgxpool.Pool, slug, name string) (string, bool) {
	t.Helper()
	sealer, err := tenants.NewSealer(bytes.Repeat([]byte{7}, tenants.SecretKeySize)) // newEnv's key
	if err != nil {
		t.Fatal(err)
	}
	d := tenants.NewDirectory(pool, sealer, nil)
	if err := d.Load(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	team, ok := d.Team(slug)
	if !ok {
		t.Fatalf("team %s not in the directory", slug)
	}
	m, ok := team.MCPServer(name)
	return m.Credential, ok
}

// mcpAudit is the team's audit rows about MCP servers, newest first.
func mcpAudit(t *testing.T, e *env, teamID string) []tenants.AuditEntry {
	t.Helper()
	all, _, err := e.store.ListAudit(testCtx(t), teamID, tenants.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []tenants.AuditEntry
	for _, a := range all {
		if a.TargetType == "mcp_server" {
			out = append(out, a)
		}
	}
	return out
}

func TestMCPServerAddEditDelete(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	e := newEnv(t, envOptions{pool: pool})
	u := e.user("ada")
	team := e.team("green", u)
	b := e.signedIn(u)

	empty := b.get(Base + "/t/green/mcp")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, "No MCP servers yet", "Register your first MCP server", `id="nav-mcp"`, `id="new-mcp-server"`)
	wantStatus(t, b.get(Base+"/t/green/mcp/new"), http.StatusOK)

	// Refused input: the field's error on the page, the typed values
	// kept but the credential, and nothing stored or audited.
	refused := []struct {
		name, url, field, says string
	}{
		{"GitHub Tools", "http://tools.test/mcp", "name", "lowercase letters"},
		{"tools", "", "url", "Enter a URL"},
		{"tools", "ftp://tools.test/mcp", "url", "http or https"},
		{"tools", "http://169.254.169.254/mcp", "url", "Link-local addresses are not allowed"},
	}
	for _, r := range refused {
		p := b.post(Base+"/t/green/mcp", url.Values{"name": {r.name}, "url": {r.url}, "credential": {mcpSecret}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `data-testid="`+r.field+`-error"`, r.says, `value="`+r.name+`"`, "type it again")
		wantLacks(t, p, mcpSecret)
	}
	if list, _, err := e.store.ListMCPServers(testCtx(t), team.ID, tenants.Page{}); err != nil || len(list) != 0 {
		t.Fatalf("refused forms stored servers: %+v, %v", list, err)
	}
	if a := mcpAudit(t, e, team.ID); len(a) != 0 {
		t.Fatalf("refused forms were audited: %+v", a)
	}

	// Registered with a credential: listed with its gateway and metadata
	// URLs; the credential is only said to be set.
	wantRedirect(t, b.post(Base+"/t/green/mcp", url.Values{
		"name": {"tools"}, "url": {"http://tools.test:8000/mcp"}, "credential": {mcpSecret},
	}), Base+"/t/green/mcp?done=mcp-server-created")
	gatewayURL := e.URL + "/t/green/mcp/tools"
	metadataURL := e.URL + "/.well-known/oauth-protected-resource/t/green/mcp/tools"
	list := b.get(Base + "/t/green/mcp?done=mcp-server-created")
	wantStatus(t, list, http.StatusOK)
	wantContains(t, list, "MCP server registered.", `data-testid="mcp-url">`+gatewayURL+"<", `data-copy="mcp-url-tools"`,
		metadataURL, "http://tools.test:8000/mcp", `data-testid="mcp-credential">set<`)
	wantLacks(t, list, mcpSecret)

	m, err := e.store.GetMCPServer(testCtx(t), team.ID, "tools")
	if err != nil || m.URL != "http://tools.test:8000/mcp" || !m.HasCredential || m.Credential != "" {
		t.Fatalf("stored %+v, %v", m, err)
	}
	var sealed []byte
	if err := pool.QueryRow(testCtx(t), "SELECT credential_enc FROM mcp_servers WHERE id = $1", m.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(mcpSecret)) {
		t.Fatalf("credential stored as %q: not sealed", sealed)
	}
	if cred, ok := mcpCredential(t, pool, "green", "tools"); !ok || cred != mcpSecret {
		t.Fatalf("the gateway would send credential %q (found %v)", cred, ok)
	}

	// The edit page: the URLs, no name field, the credential only said
	// to be stored.
	edit := b.get(Base + "/t/green/mcp/tools/edit")
	wantStatus(t, edit, http.StatusOK)
	wantContains(t, edit, gatewayURL, metadataURL, `value="http://tools.test:8000/mcp"`, "A credential is stored", `id="clear_credential"`, `id="delete-mcp-server"`)
	wantLacks(t, edit, mcpSecret, `name="name"`)

	// A refused URL on edit changes nothing.
	p := b.post(Base+"/t/green/mcp/tools", url.Values{"url": {"http://169.254.169.254/"}, "credential": {mcpOtherSecret}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="url-error"`, "type it again")
	wantLacks(t, p, mcpOtherSecret)
	if got, _ := e.store.GetMCPServer(testCtx(t), team.ID, "tools"); !got.UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("a refused edit changed the server: %+v", got)
	}

	// A blank credential keeps the stored one.
	wantRedirect(t, b.post(Base+"/t/green/mcp/tools", url.Values{"url": {"https://tools.test/v2/mcp"}, "credential": {""}}),
		Base+"/t/green/mcp?done=mcp-server-saved")
	if got, _ := e.store.GetMCPServer(testCtx(t), team.ID, "tools"); got.URL != "https://tools.test/v2/mcp" || !got.HasCredential {
		t.Fatalf("after edit: %+v", got)
	}
	if cred, _ := mcpCredential(t, pool, "green", "tools"); cred != mcpSecret {
		t.Fatalf("a blank credential did not keep the stored one: %q", cred)
	}
	// A new one replaces it.
	wantRedirect(t, b.post(Base+"/t/green/mcp/tools", url.Values{"url": {"https://tools.test/v2/mcp"}, "credential": {mcpOtherSecret}}),
		Base+"/t/green/mcp?done=mcp-server-saved")
	if cred, _ := mcpCredential(t, pool, "green", "tools"); cred != mcpOtherSecret {
		t.Fatalf("the credential was not replaced: %q", cred)
	}
	// The checkbox clears it.
	wantRedirect(t, b.post(Base+"/t/green/mcp/tools", url.Values{"url": {"https://tools.test/v2/mcp"}, "clear_credential": {"on"}}),
		Base+"/t/green/mcp?done=mcp-server-saved")
	if got, _ := e.store.GetMCPServer(testCtx(t), team.ID, "tools"); got.HasCredential {
		t.Fatalf("the credential was not cleared: %+v", got)
	}
	if cred, ok := mcpCredential(t, pool, "green", "tools"); !ok || cred != "" {
		t.Fatalf("after clearing, the gateway would send %q", cred)
	}
	wantContains(t, b.get(Base+"/t/green/mcp"), `data-testid="mcp-credential">none<`)
	wantContains(t, b.get(Base+"/t/green/mcp/tools/edit"), "No credential is stored")

	// A second server with the same name.
	p = b.post(Base+"/t/green/mcp", url.Values{"name": {"tools"}, "url": {"http://other.test/mcp"}})
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, `data-testid="name-error"`, "already")

	// Another team's admin cannot reach it through their own team, nor
	// see the team's pages.
	v := e.user("vic")
	e.team("blue", v)
	vb := e.signedIn(v)
	wantStatus(t, vb.get(Base+"/t/blue/mcp/tools/edit"), http.StatusNotFound)
	wantStatus(t, vb.post(Base+"/t/blue/mcp/tools", url.Values{"url": {"http://x.test/"}}), http.StatusNotFound)
	wantStatus(t, vb.post(Base+"/t/blue/mcp/tools/delete", nil), http.StatusNotFound)
	wantStatus(t, vb.get(Base+"/t/green/mcp"), http.StatusNotFound)

	wantRedirect(t, b.post(Base+"/t/green/mcp/tools/delete", nil), Base+"/t/green/mcp?done=mcp-server-deleted")
	wantContains(t, b.get(Base+"/t/green/mcp?done=mcp-server-deleted"), "MCP server deleted.", "No MCP servers yet")
	wantStatus(t, b.get(Base+"/t/green/mcp/tools/edit"), http.StatusNotFound)
	if _, err := e.store.GetMCPServer(testCtx(t), team.ID, "tools"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("after delete: %v", err)
	}

	// Every change is audited as the signed-in admin, and no audit row
	// holds a credential.
	audit := mcpAudit(t, e, team.ID)
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
		if a.ActorID != u.ID {
			t.Errorf("%s audited as %q, want the admin", a.Action, a.ActorID)
		}
	}
	want := []string{tenants.AuditMCPServerDelete, tenants.AuditMCPServerUpdate, tenants.AuditMCPServerUpdate, tenants.AuditMCPServerUpdate, tenants.AuditMCPServerCreate}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit actions %q, want %q", actions, want)
	}
	detail, _ := json.Marshal(audit)
	if bytes.Contains(detail, []byte(mcpSecret)) || bytes.Contains(detail, []byte(mcpOtherSecret)) {
		t.Errorf("the audit log holds a credential: %s", detail)
	}
	if !bytes.Contains(detail, []byte(`"credential":"set"`)) || !bytes.Contains(detail, []byte(`"credential":"removed"`)) {
		t.Errorf("the audit log does not say what happened to the credential: %s", detail)
	}
	auditPage := b.get(Base + "/t/green/audit")
	wantContains(t, auditPage, tenants.AuditMCPServerCreate)
	wantLacks(t, auditPage, mcpSecret, mcpOtherSecret)
	if logs := e.logs.String(); strings.Contains(logs, mcpSecret) || strings.Contains(logs, mcpOtherSecret) {
		t.Error("a credential reached the log")
	}
}

// MCP servers are changed by admins and owners only, and only with the
// session's CSRF token; everyone in the team sees the list.
func TestMCPServerRolesAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("owner")
	team := e.team("guarded", owner)
	m, err := e.store.CreateMCPServer(testCtx(t), team.ID, tenants.MCPServerInput{Name: "files", URL: "http://127.0.0.1:1/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {"other"}, "url": {"http://127.0.0.1:2/mcp"}, "credential": {mcpSecret}}
	actions := []struct{ method, path string }{
		{"GET", "/mcp/new"},
		{"GET", "/mcp/files/edit"},
		{"POST", "/mcp"},
		{"POST", "/mcp/files"},
		{"POST", "/mcp/files/delete"},
	}
	for _, role := range []tenants.Role{tenants.RoleViewer, tenants.RoleMember} {
		u := e.user("as-" + string(role))
		e.member(team, u, role)
		b := e.signedIn(u)
		list := b.get(Base + "/t/guarded/mcp")
		wantStatus(t, list, http.StatusOK)
		wantContains(t, list, `id="nav-mcp"`, "files", e.URL+"/t/guarded/mcp/files", "http://127.0.0.1:1/mcp")
		wantLacks(t, list, `id="new-mcp-server"`, "/mcp/files/edit")
		for _, a := range actions {
			var p page
			if a.method == "GET" {
				p = b.get(Base + "/t/guarded" + a.path)
			} else {
				p = b.post(Base+"/t/guarded"+a.path, form)
			}
			if p.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s %s: status %d, want 403", role, a.method, a.path, p.StatusCode)
			}
		}
	}
	b := e.signedIn(owner)
	for _, a := range actions {
		if a.method != "POST" {
			continue
		}
		for _, token := range []string{"", "wrong-token"} {
			f := url.Values{"csrf": {token}}
			for k, v := range form {
				f[k] = v
			}
			if p := b.post(Base+"/t/guarded"+a.path, f); p.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF token %q: status %d, want 403", a.path, token, p.StatusCode)
			}
		}
	}
	list, _, err := e.store.ListMCPServers(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(list) != 1 || list[0].Name != "files" || list[0].HasCredential || !list[0].UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("refused actions changed the servers: %+v, %v", list, err)
	}
	// The server was made without an actor, so any row is a refused action's.
	if a := mcpAudit(t, e, team.ID); len(a) != 0 {
		t.Fatalf("refused actions were audited: %+v", a)
	}
}

// A server may be called "new": its page is still its own, apart from the
// page that registers one.
func TestMCPServerNamedNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada")
	team := e.team("green", u)
	if _, err := e.store.CreateMCPServer(testCtx(t), team.ID, tenants.MCPServerInput{Name: "new", URL: "http://127.0.0.1:1/mcp"}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(u)
	edit := b.get(Base + "/t/green/mcp/new/edit")
	wantStatus(t, edit, http.StatusOK)
	wantContains(t, edit, "MCP server new", e.URL+"/t/green/mcp/new", `value="http://127.0.0.1:1/mcp"`)
	register := b.get(Base + "/t/green/mcp/new")
	wantStatus(t, register, http.StatusOK)
	wantContains(t, register, "Register an MCP server", `name="name"`)
	wantRedirect(t, b.post(Base+"/t/green/mcp/new", url.Values{"url": {"http://127.0.0.1:2/mcp"}}), Base+"/t/green/mcp?done=mcp-server-saved")
	if m, err := e.store.GetMCPServer(testCtx(t), team.ID, "new"); err != nil || m.URL != "http://127.0.0.1:2/mcp" {
		t.Fatalf("after edit: %+v, %v", m, err)
	}
}
