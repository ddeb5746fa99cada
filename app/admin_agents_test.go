package app

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// Cards as real agents publish them: an A2A 0.3 agent (the a2a-go and
// a2a-python SDKs' shape) and an A2A 1.0 agent.
const (
	agentCard03 = `{"protocolVersion":"0.3.0","name":"Travel planner","description":"Plans trips and books them.",
"url":"%s/a2a","preferredTransport":"JSONRPC","version":"2.1.0",
"capabilities":{"streaming":true,"pushNotifications":false},
"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain","application/json"],
"skills":[{"id":"plan-trip","name":"Plan a trip","description":"Makes an itinerary.","tags":["travel","planning"],"examples":["Plan 3 days in Lisbon"]},
{"id":"book-hotel","name":"Book a hotel","description":"Books a room.","tags":["travel"]}]}`
	agentCard10 = `{"name":"Code reviewer","description":"Reviews pull requests.",
"supportedInterfaces":[{"url":"%s/a2a/v1","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
"provider":{"organization":"Example","url":"https://example.com"},"version":"1.0.0",
"capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
"skills":[{"id":"review","name":"Review a change","description":"Comments on a diff.","tags":["code"]}]}`
)

// cardAgent is a real HTTP server on loopback publishing an agent card,
// refusing requests without the bearer token when one is set, and noting
// the tokens it was sent.
type cardAgent struct {
	srv   *httptest.Server
	mu    sync.Mutex
	auths []string
}

func newCardAgent(t *testing.T, card, token string) *cardAgent {
	t.Helper()
	a := &cardAgent{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.auths = append(a.auths, r.Header.Get("Authorization"))
		a.mu.Unlock()
		if r.URL.Path != "/.well-known/agent-card.json" {
			http.NotFound(w, r)
			return
		}
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(card, "%s", "http://"+r.Host)))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *cardAgent) URL() string { return a.srv.URL }

func (a *cardAgent) lastAuth() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.auths) == 0 {
		return ""
	}
	return a.auths[len(a.auths)-1]
}

// deadURL is a loopback address nothing listens on: a port held and let go.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

const agentCredential = "agent-upstream-credential-7788"

func TestManagementAPIAgents(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	team := admin.post("/teams", `{"slug":"research","name":"Research"}`, 201)
	admin.post("/teams", `{"slug":"rival","name":"Rival"}`, 201)
	v03 := newCardAgent(t, agentCard03, agentCredential)
	v10 := newCardAgent(t, agentCard10, "")

	// Registered with its credential: the card is fetched with it.
	a := admin.post("/teams/research/agents", `{"name":"travel","base_url":"`+v03.URL()+`/","credential":"`+agentCredential+`"}`, 201)
	id, _ := a["id"].(string)
	card, _ := a["card"].(map[string]any)
	if a["version"] != "auto" || a["card_version"] != "0.3" || a["card_error"] != nil || card["name"] != "Travel planner" ||
		a["credential_last4"] != "7788" || a["base_url"] != v03.URL() || a["card_fetched_at"] == nil {
		t.Fatalf("created agent: %v", a)
	}
	if a["hosted_url"] != gw.cfg.PublicURL+"/t/research/a2a/travel" {
		t.Errorf("hosted_url = %v", a["hosted_url"])
	}
	if v03.lastAuth() != "Bearer "+agentCredential {
		t.Errorf("the card was fetched with %q", v03.lastAuth())
	}
	if skills, _ := card["skills"].([]any); len(skills) != 2 {
		t.Errorf("card skills: %v", card["skills"])
	}
	if strings.Contains(mustJSON(a), agentCredential) {
		t.Fatal("the credential is in the API's answer")
	}
	admin.post("/teams/research/agents", `{"name":"travel","base_url":"`+v03.URL()+`"}`, 409)

	// The row holds the credential sealed, never in clear.
	var sealed []byte
	if err := gw.pool.QueryRow(t.Context(), "SELECT credential_enc FROM agents WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(agentCredential)) {
		t.Fatalf("stored credential: %q", sealed)
	}
	// The directory holds it in clear for the calls to the agent.
	waitFor(t, "the agent in the directory", func() bool {
		s, ok := gw.dir.Team("research")
		if !ok {
			return false
		}
		got, ok := s.Agent("travel")
		return ok && got.Credential == agentCredential && got.SpokenVersion() == "0.3"
	})

	list := admin.do("GET", "/teams/research/agents", "", 200)
	if items, _ := list["items"].([]any); len(items) != 1 || strings.Contains(mustJSON(list), agentCredential) {
		t.Fatalf("list: %v", list)
	}
	if got := admin.do("GET", "/teams/research/agents/"+id, "", 200); got["name"] != "travel" {
		t.Fatalf("get: %v", got)
	}

	// Moved to a 1.0 agent with PUT, the credential kept (left out).
	upd := admin.do("PUT", "/teams/research/agents/"+id, `{"name":"reviewer","base_url":"`+v10.URL()+`","version":"auto"}`, 200)
	if upd["name"] != "reviewer" || upd["card_version"] != "1.0" || upd["credential_last4"] != "7788" || upd["card"].(map[string]any)["name"] != "Code reviewer" {
		t.Fatalf("put: %v", upd)
	}
	if v10.lastAuth() != "Bearer "+agentCredential {
		t.Errorf("the kept credential was not sent: %q", v10.lastAuth())
	}
	// PATCH changes what it names.
	upd = admin.do("PATCH", "/teams/research/agents/"+id, `{"version":"1.0"}`, 200)
	if upd["version"] != "1.0" || upd["name"] != "reviewer" || upd["base_url"] != v10.URL() || upd["card_version"] != "1.0" {
		t.Fatalf("patch: %v", upd)
	}

	// An agent that is down: the save works, the fetch's failure is shown.
	down := deadURL(t)
	upd = admin.do("PATCH", "/teams/research/agents/"+id, `{"base_url":"`+down+`"}`, 200)
	if msg, _ := upd["card_error"].(string); !strings.Contains(msg, "connection refused") || upd["card"] != nil || upd["card_version"] != nil {
		t.Fatalf("agent down: %v", upd)
	}
	// Fetched again on demand, once it is up.
	back := admin.do("PUT", "/teams/research/agents/"+id, `{"name":"reviewer","base_url":"`+v10.URL()+`","version":"1.0"}`, 200)
	if back["card_error"] != nil {
		t.Fatalf("back up: %v", back)
	}
	v10.srv.Close()
	refetched := admin.post("/teams/research/agents/"+id+"/card", "", 200)
	if msg, _ := refetched["card_error"].(string); msg == "" || refetched["card_version"] != "1.0" || refetched["card"] == nil {
		t.Fatalf("fetch from a closed agent keeps the last card and says why: %v", refetched)
	}
	if strings.Contains(mustJSON(refetched), agentCredential) {
		t.Fatal("the credential is in a card error")
	}

	// Another team sees nothing and changes nothing.
	admin.do("GET", "/teams/rival/agents/"+id, "", 404)
	admin.do("PUT", "/teams/rival/agents/"+id, `{"name":"stolen","base_url":"`+v03.URL()+`"}`, 404)
	admin.do("PATCH", "/teams/rival/agents/"+id, `{"name":"stolen"}`, 404)
	admin.post("/teams/rival/agents/"+id+"/card", "", 404)
	admin.do("DELETE", "/teams/rival/agents/"+id, "", 404)
	if items := admin.do("GET", "/teams/rival/agents", "", 200)["items"].([]any); len(items) != 0 {
		t.Fatalf("rival lists %v", items)
	}
	if e := admin.do("GET", "/teams/rival/agents/"+id, "", 404)["error"].(map[string]any); e["message"] != "no such agent" {
		t.Errorf("not found message: %v", e)
	}

	// Every change is audited, never with the credential.
	entries, _, err := gw.store.ListAudit(t.Context(), team["id"].(string), tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.TargetType == "agent" {
			actions = append(actions, e.Action)
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), agentCredential) {
			t.Errorf("audit entry holds the credential: %s", b)
		}
	}
	if strings.Join(actions, ",") != "agent.update,agent.update,agent.update,agent.update,agent.create" {
		t.Errorf("audit actions: %v", actions)
	}

	admin.do("DELETE", "/teams/research/agents/"+id, "", 204)
	admin.do("GET", "/teams/research/agents/"+id, "", 404)
	admin.do("DELETE", "/teams/research/agents/"+id, "", 404)
	waitFor(t, "the agent gone from the directory", func() bool {
		s, _ := gw.dir.Team("research")
		_, ok := s.Agent("reviewer")
		return !ok
	})
}

func TestManagementAPIRefusesBadAgents(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AllowPrivateNetworks = false
	gw := startGateway(t, cfg)
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	cases := []struct{ body, field string }{
		{`{"name":"Not A Slug","base_url":"https://192.0.2.10"}`, "name"},
		{`{"name":"a.b","base_url":"https://192.0.2.10"}`, "name"},
		{`{"name":"ok","base_url":"https://192.0.2.10","version":"2.0"}`, "version"},
		{`{"name":"ok","base_url":"ftp://192.0.2.10"}`, "base_url"},
		{`{"name":"ok","base_url":"http://169.254.169.254/"}`, "base_url"},
		{`{"name":"ok","base_url":"http://[fd00:ec2::254]/"}`, "base_url"},
		{`{"name":"ok","base_url":"http://127.0.0.1:8080/"}`, "base_url"},
	}
	for _, c := range cases {
		got := admin.post("/teams/acme/agents", c.body, 422)
		e, _ := got["error"].(map[string]any)
		if e["code"] != "invalid_field" || e["field"] != c.field || e["message"] == "" {
			t.Errorf("%s: %v, want invalid %s", c.body, got, c.field)
		}
	}
	admin.post("/teams/acme/agents", `{"name":"ok","base_url":"https://192.0.2.10","colour":"red"}`, 400)
	admin.do("GET", "/teams/nope/agents", "", 404)
	if items := admin.do("GET", "/teams/acme/agents", "", 200)["items"].([]any); len(items) != 0 {
		t.Fatalf("refused agents were stored: %v", items)
	}
}
