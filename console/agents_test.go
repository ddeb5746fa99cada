package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// agentCard is a real A2A 0.3 agent's card, as the a2a-go SDK publishes it.
const agentCard = `{"protocolVersion":"0.3.0","name":"Travel planner","description":"Plans trips and books them.",
"url":"http://agents.test/a2a","preferredTransport":"JSONRPC","version":"2.1.0",
"capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
"skills":[{"id":"plan-trip","name":"Plan a trip","description":"Makes an itinerary.","tags":["travel","planning"]},
{"id":"book-hotel","name":"Book a hotel","description":"Books a room.","tags":["travel"]}]}`

// cardHost is a real HTTP server on loopback publishing agentCard.
func cardHost(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/agent-card.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(agentCard))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testCards reads cards with plain HTTP, as far as the console's pages
// need: the gateway's fetcher (policy, credential, both card shapes) is
// tested in package a2a and through the app.
type testCards struct{}

func (testCards) FetchAgentCard(ctx context.Context, a attach.Agent) (AgentCard, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.BaseURL+"/.well-known/agent-card.json", nil)
	if err != nil {
		return AgentCard{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return AgentCard{}, errors.New("the agent could not be reached")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return AgentCard{}, fmt.Errorf("the agent answered HTTP %d", resp.StatusCode)
	}
	var doc struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Interfaces  json.RawMessage `json:"supportedInterfaces"`
		Skills      []AgentSkill    `json:"skills"`
	}
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || json.Unmarshal(raw, &doc) != nil {
		return AgentCard{}, errors.New("the card is not JSON")
	}
	version := attach.A2AVersion03
	if doc.Interfaces != nil {
		version = attach.A2AVersion10
	}
	return AgentCard{Raw: raw, Version: version, Name: doc.Name, Description: doc.Description, Skills: doc.Skills}, nil
}

// deadAgentURL is a loopback address nothing listens on.
func deadAgentURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

const agentSecret = "agent-credential-secret-4321"

func TestRegisterTestAndEditAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada")
	team := e.team("green", u)
	b := e.signedIn(u)
	host := cardHost(t)

	empty := b.get(Base + "/t/green/agents")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, "No agents yet", "Register your first agent", `id="nav-agents"`)
	wantContains(t, b.get(Base+"/t/green"), `id="a2a"`, "No agents yet.")
	wantStatus(t, b.get(Base+"/t/green/agents/new"), http.StatusOK)

	// Invalid: the input stays, the credential does not.
	p := b.post(Base+"/t/green/agents", url.Values{"name": {"Travel Planner"}, "base_url": {host.URL}, "version": {"auto"}, "credential": {agentSecret}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="name-error"`, `value="Travel Planner"`, "type it again")
	wantLacks(t, p, agentSecret)
	p = b.post(Base+"/t/green/agents", url.Values{"name": {"travel"}, "base_url": {host.URL}, "version": {"2.0"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="version-error"`)
	// A URL the network policy refuses is an inline error too.
	p = b.post(Base+"/t/green/agents", url.Values{"name": {"meta"}, "base_url": {"http://169.254.169.254/"}, "version": {"auto"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="base_url-error"`, "Link-local addresses are not allowed")

	// Registered: the card is read on save and shown in the list.
	wantRedirect(t, b.post(Base+"/t/green/agents", url.Values{
		"name": {"travel"}, "base_url": {host.URL + "/"}, "version": {"auto"}, "credential": {agentSecret},
	}), Base+"/t/green/agents?done=agent-created")
	list := b.get(Base + "/t/green/agents?done=agent-created")
	wantContains(t, list, "Agent registered.", "travel", e.URL+"/t/green/a2a/travel", host.URL, "••••4321", "Travel planner", "auto: 0.3")
	wantLacks(t, list, agentSecret)
	gateway := b.get(Base + "/t/green")
	wantContains(t, gateway, `data-testid="gateway-agent"`, e.URL+"/t/green/a2a/travel")

	agents, _, err := e.store.ListAgents(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(agents) != 1 || agents[0].CardVersion != "0.3" {
		t.Fatalf("agents %+v, %v", agents, err)
	}
	ag := agents[0]

	// Test: the card's name, version and skills.
	p = b.post(Base+"/t/green/agents/"+ag.ID+"/test", nil)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="card-result"`, `data-testid="card-name">Travel planner`, `data-testid="card-version">0.3`,
		"Plan a trip", "plan-trip", "Book a hotel", "travel, planning")
	j := b.postJSON(Base+"/t/green/agents/"+ag.ID+"/test", b.csrf)
	wantStatus(t, j, http.StatusOK)
	var r cardResult
	if err := json.Unmarshal([]byte(j.Body), &r); err != nil || !r.OK || r.Version != "0.3" || len(r.Skills) != 2 || r.Skills[1].ID != "book-hotel" {
		t.Fatalf("test result %s (%v)", j.Body, err)
	}

	// Edit with the credential empty keeps it; a dead agent is saved, and
	// its card error shown.
	edit := b.get(Base + "/t/green/agents/" + ag.ID)
	wantStatus(t, edit, http.StatusOK)
	wantContains(t, edit, `data-testid="credential-hint">••••4321`, `value="travel"`, e.URL+"/t/green/a2a/travel", `id="test-agent"`)
	wantLacks(t, edit, agentSecret)
	dead := deadAgentURL(t)
	wantRedirect(t, b.post(Base+"/t/green/agents/"+ag.ID, url.Values{
		"name": {"travel"}, "base_url": {dead}, "version": {"1.0"}, "credential": {""},
	}), Base+"/t/green/agents?done=agent-saved")
	got, err := e.store.GetAgent(testCtx(t), team.ID, ag.ID)
	if err != nil || got.CredentialLast4 != "4321" || got.Version != "1.0" || got.BaseURL != dead || got.CardError == "" {
		t.Fatalf("after edit: %+v, %v", got, err)
	}
	wantContains(t, b.get(Base+"/t/green/agents"), "Not read: the agent could not be reached")
	p = b.post(Base+"/t/green/agents/"+ag.ID+"/test", nil)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Card not read:", "the agent could not be reached")
	j = b.postJSON(Base+"/t/green/agents/"+ag.ID+"/test", b.csrf)
	wantStatus(t, j, http.StatusBadGateway)
	if code := jsonErrorCode(t, j); code != "agent_card_unreadable" {
		t.Errorf("code %q", code)
	}
	// Removing the credential takes the checkbox.
	wantRedirect(t, b.post(Base+"/t/green/agents/"+ag.ID, url.Values{
		"name": {"travel"}, "base_url": {host.URL}, "version": {"auto"}, "clear_credential": {"on"},
	}), Base+"/t/green/agents?done=agent-saved")
	if got, _ := e.store.GetAgent(testCtx(t), team.ID, ag.ID); got.CredentialLast4 != "" || got.CardVersion != "0.3" {
		t.Errorf("after removal: %+v", got)
	}

	// A second agent with the same name.
	p = b.post(Base+"/t/green/agents", url.Values{"name": {"travel"}, "base_url": {host.URL}, "version": {"auto"}})
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "already")

	// Another team's member cannot reach it through their own team.
	v := e.user("vic")
	e.team("blue", v)
	vb := e.signedIn(v)
	wantStatus(t, vb.get(Base+"/t/blue/agents/"+ag.ID), http.StatusNotFound)
	wantStatus(t, vb.post(Base+"/t/blue/agents/"+ag.ID+"/test", nil), http.StatusNotFound)
	wantStatus(t, vb.post(Base+"/t/blue/agents/"+ag.ID+"/delete", nil), http.StatusNotFound)
	wantStatus(t, vb.get(Base+"/t/green/agents"), http.StatusNotFound)

	wantRedirect(t, b.post(Base+"/t/green/agents/"+ag.ID+"/delete", nil), Base+"/t/green/agents?done=agent-deleted")
	wantContains(t, b.get(Base+"/t/green/agents"), "No agents yet")
	wantStatus(t, b.get(Base+"/t/green/agents/"+ag.ID), http.StatusNotFound)

	if strings.Contains(e.logs.String(), agentSecret) {
		t.Error("the credential reached the log")
	}
}

// Agents are changed by admins and owners only, and only with the
// session's CSRF token; everyone in the team sees the list.
func TestAgentRolesAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("owner")
	team := e.team("guarded", owner)
	ag, err := e.store.CreateAgent(testCtx(t), team.ID, tenants.AgentInput{Name: "bot", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {"other"}, "base_url": {"http://127.0.0.1:2"}, "version": {"auto"}}
	actions := []struct{ method, path string }{
		{"GET", "/agents/new"},
		{"GET", "/agents/" + ag.ID},
		{"POST", "/agents"},
		{"POST", "/agents/" + ag.ID},
		{"POST", "/agents/" + ag.ID + "/test"},
		{"POST", "/agents/" + ag.ID + "/delete"},
	}
	for _, role := range []tenants.Role{tenants.RoleViewer, tenants.RoleMember} {
		u := e.user("as-" + string(role))
		e.member(team, u, role)
		b := e.signedIn(u)
		list := b.get(Base + "/t/guarded/agents")
		wantStatus(t, list, http.StatusOK)
		wantContains(t, list, "bot")
		wantLacks(t, list, `id="new-agent"`, "/agents/"+ag.ID)
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
		f := url.Values{"csrf": {"wrong-token"}}
		for k, v := range form {
			f[k] = v
		}
		if p := b.post(Base+"/t/guarded"+a.path, f); p.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: status %d, want 403", a.path, p.StatusCode)
		}
	}
	list, _, err := e.store.ListAgents(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(list) != 1 || list[0].Name != "bot" || !list[0].UpdatedAt.Equal(ag.UpdatedAt) || list[0].CardFetchedAt != nil {
		t.Fatalf("refused actions changed the agents: %+v, %v", list, err)
	}
}
