package app

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

// hostedConfig is the test configuration with the defaults a DATABASE_URL
// install gets from its environment: private networks refused, teams made
// only by the install.
func hostedConfig(t *testing.T) Config {
	t.Helper()
	env := map[string]string{"DATABASE_URL": "postgres://db/app", "ATTACH_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}
	hosted, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if hosted.AllowPrivateNetworks || !hosted.TeamCreators.None {
		t.Fatalf("DATABASE_URL defaults: private %v creators %s", hosted.AllowPrivateNetworks, hosted.TeamCreators)
	}
	cfg := testConfig(t)
	cfg.AllowPrivateNetworks, cfg.TeamCreators = hosted.AllowPrivateNetworks, hosted.TeamCreators
	return cfg
}

// On a hosted install the side-car engine and issuer on loopback still
// serve chat, while a team's engine on loopback is refused when saved and
// when tested, naming the setting, whether its port is open or closed: the
// "Test" button is no port scanner.
func TestHostedRefusesTeamsPrivateTargetsButServesSidecar(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg := hostedConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	gw := startGateway(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Side-car: a token from the loopback issuer, answered by the
	// loopback engine.
	resp, body := call(t, "POST", gw.URL+"/api/chat", idp.Token(t, "api://default"), chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("side-car chat: %d %s", resp.StatusCode, body)
	}
	def, ok := gw.dir.Team(cfg.DefaultTeam)
	if !ok {
		t.Fatal("no default team")
	}
	sidecarEngine, _ := def.DefaultEngine()
	if _, _, err := gw.probe.ProbeEngine(ctx, sidecarEngine); err != nil {
		t.Errorf("Test of the side-car engine: %v", err)
	}

	// A team may not save a loopback engine, not even the side-car's own
	// address.
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	got := admin.post("/teams/acme/engines", `{"name":"e","dialect":"ollama","base_url":"`+eng.URL()+`"}`, 422)
	if e, _ := got["error"].(map[string]any); e["field"] != "base_url" || !strings.Contains(e["message"].(string), "ATTACH_ALLOW_PRIVATE_NETWORKS") {
		t.Errorf("save of a loopback engine: %v", got)
	}

	// Engines on loopback that got into the store another way (saved
	// before the policy was tightened): "Test" says the same for an open
	// port and a closed one, and never connects.
	team, err := gw.store.GetTeam(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	var answers [2][]string // engine, agent
	for i, base := range []string{"http://" + strings.TrimPrefix(eng.URL(), "http://"), closedURL} {
		e, err := gw.store.CreateEngine(ctx, team.ID, tenants.EngineInput{Name: "old-" + string(rune('a'+i)), Dialect: "ollama", BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = gw.probe.ProbeEngine(ctx, e)
		if err == nil || !strings.Contains(err.Error(), "ATTACH_ALLOW_PRIVATE_NETWORKS") {
			t.Errorf("Test of engine %s: want a refusal naming the setting, got %v", base, err)
		} else {
			answers[0] = append(answers[0], err.Error())
		}
		// An agent's "Test" reads its card under the same rule.
		ag, err := gw.store.CreateAgent(ctx, team.ID, tenants.AgentInput{Name: "old-" + string(rune('a'+i)), BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		_, err = gw.cards.FetchAgentCard(ctx, ag)
		if err == nil || !strings.Contains(err.Error(), "ATTACH_ALLOW_PRIVATE_NETWORKS") {
			t.Errorf("Test of agent %s: want a refusal naming the setting, got %v", base, err)
		} else {
			answers[1] = append(answers[1], err.Error())
		}
	}
	for _, a := range answers {
		if len(a) == 2 && a[0] != a[1] {
			t.Errorf("open and closed ports answer differently:\n%s\n%s", a[0], a[1])
		}
	}
}
