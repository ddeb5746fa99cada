package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// "Test" flags the configured models the engine does not serve and offers
// the ones it serves; "Import" adds those to the engine's list, asking the
// engine again, audited, and answers with a redirect to the engine's page.
func TestEngineTestFlagsAndImportsModels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ida")
	team := e.team("teal", u)
	up := ollama(t) // serves tiny:latest and llama3:8b
	eng, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "up", Dialect: "ollama", BaseURL: up.URL, Models: []string{"tiny", "phi3"}})
	if err != nil {
		t.Fatal(err)
	}
	down, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "down", Dialect: "ollama", BaseURL: "http://127.0.0.1:1", Models: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(u)
	importURL := Base + "/t/teal/engines/" + eng.ID + "/import"

	// With script: the comparison in the JSON.
	p := b.postJSON(Base+"/t/teal/engines/"+eng.ID+"/test", b.csrf)
	wantStatus(t, p, http.StatusOK)
	var r testResult
	if err := json.Unmarshal([]byte(p.Body), &r); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Missing, ",") != "phi3" || strings.Join(r.Importable, ",") != "llama3:8b" || r.ImportURL != importURL {
		t.Fatalf("test result %s: want phi3 missing, llama3:8b importable (tiny is tiny:latest)", p.Body)
	}
	// Without script: the engine's page flags and offers the same.
	p = b.post(Base+"/t/teal/engines/"+eng.ID+"/test", nil)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="models-missing"`, "Not served by the engine:", ">phi3<",
		`action="`+importURL+`"`, "llama3:8b", "Import 1 model")

	// Import needs the CSRF token.
	p = b.post(importURL, map[string][]string{"csrf": {"forged"}})
	wantStatus(t, p, http.StatusForbidden)
	if got := modelsOf(t, e, team.ID, eng.ID); got != "tiny,phi3" {
		t.Fatalf("a refused import changed the models: %s", got)
	}

	wantRedirect(t, b.post(importURL, nil), Base+"/t/teal/engines/"+eng.ID+"?done=engine-imported")
	if got := modelsOf(t, e, team.ID, eng.ID); got != "tiny,phi3,llama3:8b" {
		t.Fatalf("models after import: %s", got)
	}
	page := b.get(Base + "/t/teal/engines/" + eng.ID + "?done=engine-imported")
	wantContains(t, page, "Models imported", "llama3:8b")
	entries, _, err := e.store.ListAudit(testCtx(t), team.ID, tenants.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	imports := 0
	for _, a := range entries {
		if a.Action == tenants.AuditEngineModelsImport {
			imports++
			if a.TargetID != eng.ID || a.ActorID != u.ID || !strings.Contains(mustJSON(t, a.Detail), `"added":["llama3:8b"]`) {
				t.Fatalf("audit entry %+v", a)
			}
		}
	}
	if imports != 1 {
		t.Fatalf("%d import audit entries, want 1", imports)
	}

	// Nothing left to import: no write, no audit entry; Test offers nothing.
	wantRedirect(t, b.post(importURL, nil), Base+"/t/teal/engines/"+eng.ID+"?done=engine-up-to-date")
	p = b.postJSON(Base+"/t/teal/engines/"+eng.ID+"/test", b.csrf)
	r = testResult{}
	if err := json.Unmarshal([]byte(p.Body), &r); err != nil || len(r.Importable) != 0 || r.ImportURL != "" || strings.Join(r.Missing, ",") != "phi3" {
		t.Fatalf("test after import: %s", p.Body)
	}

	// An engine that does not answer: nothing imported, the reason shown.
	p = b.post(Base+"/t/teal/engines/"+down.ID+"/import", nil)
	wantStatus(t, p, http.StatusBadGateway)
	wantContains(t, p, "Nothing was imported")
	if got := modelsOf(t, e, team.ID, down.ID); got != "x" {
		t.Fatalf("a failed import changed the models: %s", got)
	}
	entries, _, _ = e.store.ListAudit(testCtx(t), team.ID, tenants.Page{Limit: 100})
	imports = 0
	for _, a := range entries {
		if a.Action == tenants.AuditEngineModelsImport {
			imports++
		}
	}
	if imports != 1 {
		t.Fatalf("%d import audit entries after the no-op and failed imports, want 1", imports)
	}
}

func modelsOf(t *testing.T, e *env, teamID, id string) string {
	t.Helper()
	got, err := e.store.GetEngine(testCtx(t), teamID, id)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got.Models, ",")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
