package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

// adminAPI calls the management API with the admin token.
type adminAPI struct {
	t  *testing.T
	gw *gateway
}

func adminClient(t *testing.T, gw *gateway) adminAPI { return adminAPI{t, gw} }

func (a adminAPI) do(method, path, body string, want int) map[string]any {
	a.t.Helper()
	resp, b := call(a.t, method, a.gw.URL+"/admin/v1"+path, a.gw.cfg.AdminToken, body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	out := map[string]any{}
	if b != "" {
		if err := json.Unmarshal([]byte(b), &out); err != nil {
			a.t.Fatalf("%s %s: not JSON: %q", method, path, b)
		}
	}
	return out
}

func (a adminAPI) post(path, body string, want int) map[string]any {
	return a.do("POST", path, body, want)
}

// waitForTeam waits until the directory, fed by LISTEN/NOTIFY, knows slug
// with at least the given number of engines and issuers: each change is
// its own notice, so the team can appear before its engines do.
func waitForTeam(t *testing.T, gw *gateway, slug string, engines, issuers int) {
	t.Helper()
	waitFor(t, "team "+slug+" in the directory", func() bool {
		s, ok := gw.dir.Team(slug)
		return ok && len(s.Engines) >= engines && len(s.Issuers) >= issuers
	})
}

// waitFor polls cond: configuration reaches the request path asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestManagementAPIWithAPIKeys(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)

	admin.post("/teams", `{"slug":"research","name":"Research"}`, 201)
	e := admin.post("/teams/research/engines", `{"name":"gpu-box","dialect":"ollama","base_url":"`+eng.URL()+`","models":["tiny"],"default":true,"api_key":"sk-upstream-secret-1234"}`, 201)
	if e["api_key_last4"] != "1234" {
		t.Errorf("engine shows key as %v", e["api_key_last4"])
	}
	if strings.Contains(mustJSON(e), "sk-upstream") {
		t.Fatal("engine key returned by the API")
	}
	k := admin.post("/teams/research/keys", `{"name":"planner agent"}`, 201)
	key, _ := k["key"].(string)
	if !strings.HasPrefix(key, "atk_") {
		t.Fatalf("no key in %v", k)
	}
	waitFor(t, "the key on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/research/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})
	waitFor(t, "last_used_at recorded", func() bool {
		return admin.do("GET", "/teams/research/keys/"+k["id"].(string), "", 200)["last_used_at"] != nil
	})
	up, _ := eng.lastRequest()
	if up.Header.Get("Authorization") != "Bearer sk-upstream-secret-1234" {
		t.Errorf("engine did not get its own key: %q", up.Header.Get("Authorization"))
	}
	if up.Header.Get("X-Attach-Tenant") != "research" || up.Header.Get("X-Attach-User") == "" {
		t.Errorf("identity headers: %v", up.Header)
	}

	// Renamed and given scopes; the secret stays the same.
	upd := admin.do("PUT", "/teams/research/keys/"+k["id"].(string), `{"name":"planner v2","scopes":["memory:admin"]}`, 200)
	if upd["name"] != "planner v2" || upd["prefix"] != k["prefix"] {
		t.Fatalf("updated key: %v", upd)
	}
	if resp, body := call(t, "POST", gw.URL+"/t/research/api/chat", key, chatBody); resp.StatusCode != 200 {
		t.Fatalf("key after update: %d %s", resp.StatusCode, body)
	}

	// The key is listed without its secret, then revoked: the next call fails.
	list := admin.do("GET", "/teams/research/keys", "", 200)
	if strings.Contains(mustJSON(list), key) {
		t.Fatal("key secret listed")
	}
	admin.do("DELETE", "/teams/research/keys/"+k["id"].(string), "", 204)
	waitFor(t, "revocation on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/research/api/chat", key, chatBody)
		return resp.StatusCode == 401
	})
	resp, body := call(t, "POST", gw.URL+"/t/research/api/chat", key, chatBody)
	if resp.StatusCode != 401 || errorCode(t, body) != "key_revoked" {
		t.Fatalf("revoked key: %d %s", resp.StatusCode, body)
	}
}

func TestManagementAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)

	// Without or with a wrong token.
	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		resp, body := call(t, "GET", gw.URL+"/admin/v1/teams", tok, "")
		if resp.StatusCode != 401 || errorCode(t, body) != "invalid_token" {
			t.Fatalf("admin without a valid token: %d %s", resp.StatusCode, body)
		}
	}

	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	admin.post("/teams", `{"slug":"acme","name":"Acme again"}`, 409)
	cases := []struct{ path, body string }{
		{"/teams", `{"slug":"Not A Slug","name":"x"}`},
		{"/teams", `{"slug":"ok","name":""}`},
		{"/teams/acme/issuers", `{"issuer":"not a url","audience":"a"}`},
		{"/teams/acme/issuers", `{"issuer":"https://idp.example/","audience":""}`},
		{"/teams/acme/issuers", `{"issuer":"https://idp.example/","audience":"a","algorithms":["HS256"]}`},
		{"/teams/acme/engines", `{"name":"e","dialect":"grpc","base_url":"http://127.0.0.1:1"}`},
		{"/teams/acme/engines", `{"name":"e","dialect":"ollama","base_url":"file:///etc/passwd"}`},
		{"/teams/acme/keys", `{"name":"k","expires_at":"2001-01-01T00:00:00Z"}`},
	}
	for _, tc := range cases {
		resp, body := call(t, "POST", gw.URL+"/admin/v1"+tc.path, gw.cfg.AdminToken, tc.body)
		if resp.StatusCode != 422 || errorCode(t, body) != "invalid_field" {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, resp.StatusCode, body)
		}
	}
	for _, body := range []string{`{"slug":"x","name":"y","colour":"red"}`, `{"slug":`, `[1,2]`, `{"slug":"a","name":"b"}{}`} {
		resp, b := call(t, "POST", gw.URL+"/admin/v1/teams", gw.cfg.AdminToken, body)
		if resp.StatusCode != 400 || errorCode(t, b) != "invalid_json" {
			t.Errorf("body %s: %d %s", body, resp.StatusCode, b)
		}
	}
	admin.do("GET", "/teams/nope", "", 404)
	admin.do("GET", "/teams/nope/engines", "", 404)
	admin.do("DELETE", "/teams/acme/engines/0190c0de-0000-7000-8000-000000000000", "", 404)
	admin.do("GET", "/teams?limit=0", "", 400)
	admin.do("DELETE", "/teams/default", "", 409)

	// Pagination walks every team exactly once.
	for _, s := range []string{"p1", "p2", "p3", "p4"} {
		admin.post("/teams", `{"slug":"`+s+`","name":"`+s+`"}`, 201)
	}
	seen := map[string]bool{}
	next := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		page := admin.do("GET", "/teams?limit=2&after="+next, "", 200)
		for _, it := range page["items"].([]any) {
			slug := it.(map[string]any)["slug"].(string)
			if seen[slug] {
				t.Fatalf("team %s listed twice", slug)
			}
			seen[slug] = true
		}
		next, _ = page["next"].(string)
		if next == "" {
			break
		}
	}
	if len(seen) != 6 { // default, acme, p1..p4
		t.Fatalf("listed %d teams: %v", len(seen), seen)
	}
}

// Engines and issuers at addresses the gateway may not call are refused
// when saved, through the management API as through the console, and
// nothing is stored.
func TestManagementAPIRefusesForbiddenAddresses(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AllowPrivateNetworks = false
	gw := startGateway(t, cfg)
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	for _, host := range []string{
		"169.254.169.254", "[::ffff:169.254.169.254]", "[fe80::1]", "[fd00:ec2::254]",
		"0x7f000001", "127.0.0.1", "10.0.0.7", "localhost",
	} {
		base := "http://" + host + ":11434"
		engine := admin.post("/teams/acme/engines", `{"name":"e","dialect":"ollama","base_url":"`+base+`"}`, 422)
		issuer := admin.post("/teams/acme/issuers", `{"issuer":"`+base+`/","audience":"a"}`, 422)
		for _, got := range []map[string]any{engine, issuer} {
			e, _ := got["error"].(map[string]any)
			if e["code"] != "invalid_field" || e["message"] == "" {
				t.Errorf("%s: %v", base, got)
			}
		}
	}
	if items := admin.do("GET", "/teams/acme/engines", "", 200)["items"].([]any); len(items) != 0 {
		t.Fatalf("refused engines were stored: %v", items)
	}
	if items := admin.do("GET", "/teams/acme/issuers", "", 200)["items"].([]any); len(items) != 0 {
		t.Fatalf("refused issuers were stored: %v", items)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestChangesReachEveryReplica runs two gateways on one database: a key
// minted and revoked through one is honoured by the other, through
// Postgres LISTEN/NOTIFY alone.
func TestChangesReachEveryReplica(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.EngineURL = eng.URL()
	one, two := startGateway(t, cfg), startGateway(t, cfg)

	k := adminClient(t, one).post("/teams/default/keys", `{"name":"shared"}`, 201)
	key := k["key"].(string)
	waitFor(t, "the key on the second replica", func() bool {
		resp, _ := call(t, "POST", two.URL+"/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})
	adminClient(t, one).do("DELETE", "/teams/default/keys/"+k["id"].(string), "", 204)
	waitFor(t, "revocation on the second replica", func() bool {
		resp, _ := call(t, "POST", two.URL+"/api/chat", key, chatBody)
		return resp.StatusCode == 401
	})
}

// Changes made with the admin token are audited, and a team can be deleted.
func TestManagementAPIAuditsAndDeletes(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	api := adminClient(t, gw)
	team := api.post("/teams", `{"slug":"doomed","name":"Doomed"}`, 201)
	api.post("/teams/doomed/engines", `{"name":"local","dialect":"ollama","base_url":"http://127.0.0.1:1","api_key":"sk-never-logged-0000"}`, 201)

	entries, _, err := gw.store.ListAudit(t.Context(), team["id"].(string), tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.ActorName != "admin token" {
			t.Errorf("audit entry %s by %q, want the admin token", e.Action, e.ActorName)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "sk-never-logged") {
			t.Errorf("audit entry holds the engine key: %s", b)
		}
	}
	if len(actions) != 2 {
		t.Errorf("audit actions = %v, want the team and the engine creation", actions)
	}

	api.do("DELETE", "/teams/doomed", "", 204)
	api.do("GET", "/teams/doomed", "", 404)
}
