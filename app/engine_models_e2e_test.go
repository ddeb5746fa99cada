package app

import (
	"context"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// An admin whose engine lists the wrong model: the gateway refuses the
// model the engine really serves (the engine is not the default), "Test"
// on the engines page flags the listed model the engine does not serve and
// offers the one it does, and "Import" fixes the list, after which the
// gateway serves the model.
func TestConsoleE2EEngineTestAndImport(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := newEngine(t) // serves tiny:latest
	gw := startGateway(t, testConfig(t))
	u := consoleAccount(t, gw, "ana@example.test", "Ana")
	ctx := context.Background()
	team, err := gw.store.CreateTeamWithOwner(ctx, teamInput("lab"), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := gw.store.CreateEngine(ctx, team.ID, tenants.EngineInput{Name: "gpu-box", Dialect: attach.DialectOllama, BaseURL: eng.URL(), Models: []string{"phi3"}})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := gw.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	var status int
	var body string
	waitFor(t, "the team's key and engine on the request path", func() bool {
		resp, b := call(t, "POST", gw.URL+"/t/lab/api/chat", key, chatBody)
		status, body = resp.StatusCode, b
		return status != 401 && !strings.Contains(b, "unknown_team")
	})
	if status != 404 || errorCode(t, body) != "unknown_model" || eng.hits.Load() != 0 {
		t.Fatalf("tiny before the import: %d %s, engine hits %d", status, body, eng.hits.Load())
	}

	ui := newConsoleUI(t)
	ui.signIn(gw, u.Email, e2ePassword)
	ui.open(gw.URL + "/console/t/lab/engines")
	ui.click(`#engines-table form[data-inline-test] button`)
	ui.waitVisible(`#engines-table output [data-testid="import-models"] button`)
	if got := ui.text(`#engines-table output [data-testid="models-missing"]`); !strings.Contains(got, "Not served by the engine: phi3.") {
		t.Errorf("the test flags %q", got)
	}
	if got := ui.text(`#engines-table output [data-testid="import-models"]`); !strings.Contains(got, "tiny:latest") || !strings.Contains(got, "Import 1 model") {
		t.Errorf("the import offer reads %q", got)
	}
	ui.shot("01-engine-test-flags-models")

	ui.clickToLoad(`#engines-table output [data-testid="import-models"] button`)
	if loc := ui.location(); loc.Path != "/console/t/lab/engines/"+e.ID || loc.Query().Get("done") != "engine-imported" {
		t.Fatalf("after the import the browser is at %s", loc)
	}
	if got := ui.text(`[data-testid="notice"]`); !strings.HasPrefix(got, "Models imported") {
		t.Errorf("notice after the import: %q", got)
	}
	if got := ui.value("#models"); got != "phi3\ntiny:latest" {
		t.Errorf("the engine's models now read %q", got)
	}
	ui.shot("02-models-imported")

	waitFor(t, "the imported model on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})
	if eng.hits.Load() == 0 {
		t.Fatal("the engine never got the chat")
	}
	// The import is in the audit log, as the admin who made it.
	ui.open(gw.URL + "/console/t/lab/audit")
	if got := ui.text("main"); !strings.Contains(got, "engine.models_import") || !strings.Contains(got, "ana@example.test") {
		t.Errorf("audit page: %.600s", got)
	}
	ui.shot("03-audit-import")
}

// The memory page shows, for an answer, the model asked for and the model
// the engine said served it.
func TestConsoleE2EMemoryShowsServedModel(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := newRenamingEngine(t) // answers as servedName
	gw := startGateway(t, testConfig(t))
	u := consoleAccount(t, gw, "ben@example.test", "Ben")
	team := teamWithEngine(t, gw, u, "lab", eng.URL, "tiny-alias")
	_, key, err := gw.store.CreateAPIKey(context.Background(), team.ID, tenants.APIKeyInput{Name: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the chat answered", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", key, `{"model":"tiny-alias","stream":false,"messages":[{"role":"user","content":"which model are you?"}]}`)
		return resp.StatusCode == 200
	})
	waitFor(t, "the answer in memory", func() bool {
		events, _, err := gw.mem.store.List(context.Background(), memory.Filter{TeamID: team.ID, Kind: attach.KindResponse})
		return err == nil && len(events) == 1
	})

	ui := newConsoleUI(t)
	ui.signIn(gw, u.Email, e2ePassword)
	ui.open(gw.URL + "/console/t/lab/memory?kind=response")
	if got := ui.text(`#memory-table [data-testid="memory-row"]`); !strings.Contains(got, "tiny-alias → "+servedName+" · gpu-box") {
		t.Errorf("the memory row reads %q", got)
	}
	ui.shot("01-memory-served-model")
	ui.clickToLoad(`#memory-table [data-testid="memory-row"] a[aria-label^="Event "]`)
	if got := ui.text(`[data-testid="event-served-model"]`); got != servedName {
		t.Errorf("served model shown %q, want %q", got, servedName)
	}
	if got := ui.text(`[data-testid="event-model"]`); got != "tiny-alias" {
		t.Errorf("model shown %q, want tiny-alias", got)
	}
	ui.shot("02-memory-event-served-model")
}
