package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// ollama is a real HTTP server answering /api/tags like Ollama.
func ollama(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/tags" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"models":[{"name":"tiny:latest"},{"name":"llama3:8b"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const upstreamKey = "sk-upstream-secret-0123456789abcd"

func TestRegisterAndEditEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("cai")
	team := e.team("green", u)
	b := e.signedIn(u)

	empty := b.get(Base + "/t/green/engines")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, "No engines yet", "Register your first engine")
	wantStatus(t, b.get(Base+"/t/green/engines/new"), http.StatusOK)

	// Invalid: the input stays, the key does not.
	p := b.post(Base+"/t/green/engines", url.Values{
		"name": {"gpu box"}, "dialect": {"ollama"}, "base_url": {"http://gpu-box:11434"},
		"api_key": {upstreamKey}, "models": {"llama3, qwen2.5:7b"},
	})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="name-error"`, `value="gpu box"`, `value="http://gpu-box:11434"`, "qwen2.5:7b", "type it again")
	wantLacks(t, p, upstreamKey)

	// A URL the network policy refuses is an inline error too.
	p = b.post(Base+"/t/green/engines", url.Values{"name": {"meta"}, "dialect": {"ollama"}, "base_url": {"http://169.254.169.254/"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="base_url-error"`, "Link-local addresses are not allowed")

	wantRedirect(t, b.post(Base+"/t/green/engines", url.Values{
		"name": {"gpu-box"}, "dialect": {"openai"}, "base_url": {"http://gpu-box:8000/"},
		"api_key": {upstreamKey}, "models": {"llama3\nqwen2.5:7b, llama3"}, "default": {"on"},
	}), Base+"/t/green/engines?done=engine-created")
	list := b.get(Base + "/t/green/engines?done=engine-created")
	wantContains(t, list, "Engine registered.", "gpu-box", "openai", "http://gpu-box:8000", "••••abcd", "llama3, qwen2.5:7b", `data-testid="default-badge"`)
	wantLacks(t, list, upstreamKey)

	engines, _, err := e.store.ListEngines(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(engines) != 1 {
		t.Fatalf("engines %v, %v", engines, err)
	}
	eng := engines[0]

	// Edit with the key field empty: the stored key stays.
	edit := b.get(Base + "/t/green/engines/" + eng.ID)
	wantStatus(t, edit, http.StatusOK)
	wantContains(t, edit, `data-testid="key-hint">••••abcd`, `value="gpu-box"`)
	wantLacks(t, edit, upstreamKey)
	wantRedirect(t, b.post(Base+"/t/green/engines/"+eng.ID, url.Values{
		"name": {"gpu-box"}, "dialect": {"ollama"}, "base_url": {"http://gpu-box:11434"}, "api_key": {""}, "models": {"tiny"},
	}), Base+"/t/green/engines?done=engine-saved")
	got, err := e.store.GetEngine(testCtx(t), team.ID, eng.ID)
	if err != nil || got.APIKeyLast4 != "abcd" || got.Dialect != "ollama" || got.Default || strings.Join(got.Models, ",") != "tiny" {
		t.Fatalf("after edit: %+v, %v", got, err)
	}
	// Removing the key takes the checkbox.
	wantRedirect(t, b.post(Base+"/t/green/engines/"+eng.ID, url.Values{
		"name": {"gpu-box"}, "dialect": {"ollama"}, "base_url": {"http://gpu-box:11434"}, "clear_api_key": {"on"},
	}), Base+"/t/green/engines?done=engine-saved")
	if got, _ := e.store.GetEngine(testCtx(t), team.ID, eng.ID); got.APIKeyLast4 != "" {
		t.Errorf("key still stored after removal: ••••%s", got.APIKeyLast4)
	}

	// A second engine with the same name.
	p = b.post(Base+"/t/green/engines", url.Values{"name": {"gpu-box"}, "dialect": {"ollama"}, "base_url": {"http://other:11434"}})
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "already")

	wantRedirect(t, b.post(Base+"/t/green/engines/"+eng.ID+"/delete", nil), Base+"/t/green/engines?done=engine-deleted")
	wantContains(t, b.get(Base+"/t/green/engines"), "No engines yet")
	wantStatus(t, b.get(Base+"/t/green/engines/"+eng.ID), http.StatusNotFound)
	wantStatus(t, b.post(Base+"/t/green/engines/"+eng.ID+"/delete", nil), http.StatusNotFound)

	if strings.Contains(e.logs.String(), upstreamKey) {
		t.Error("the upstream key reached the log")
	}
}

func TestTestEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("dan")
	team := e.team("amber", u)
	up := ollama(t)
	good, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "up", Dialect: "ollama", BaseURL: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	down, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{Name: "down", Dialect: "ollama", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(u)

	// With script: JSON.
	p := b.postJSON(Base+"/t/amber/engines/"+good.ID+"/test", b.csrf)
	wantStatus(t, p, http.StatusOK)
	var r testResult
	if err := json.Unmarshal([]byte(p.Body), &r); err != nil || !r.OK || strings.Join(r.Models, ",") != "tiny:latest,llama3:8b" || r.RTTms < 0 {
		t.Fatalf("test result %s (%v)", p.Body, err)
	}
	p = b.postJSON(Base+"/t/amber/engines/"+down.ID+"/test", b.csrf)
	wantStatus(t, p, http.StatusBadGateway)
	if code := jsonErrorCode(t, p); code != "engine_unreachable" || !strings.Contains(p.Body, "the engine did not answer") {
		t.Fatalf("failed test: %s", p.Body)
	}
	// The script's POST needs the CSRF header too.
	p = b.postJSON(Base+"/t/amber/engines/"+good.ID+"/test", "")
	wantStatus(t, p, http.StatusForbidden)
	if code := jsonErrorCode(t, p); code != "csrf" {
		t.Errorf("code %q, want csrf", code)
	}

	// Without script: the engine's page with the outcome.
	p = b.post(Base+"/t/amber/engines/"+good.ID+"/test", nil)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="test-result"`, "Reachable", "tiny:latest, llama3:8b")
	p = b.post(Base+"/t/amber/engines/"+down.ID+"/test", nil)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Not reachable:", "the engine did not answer")
}

func TestEnginesPaginate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("eli")
	team := e.team("many", u)
	for i := 0; i < 55; i++ {
		if _, err := e.store.CreateEngine(testCtx(t), team.ID, tenants.EngineInput{
			Name: "engine-" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Dialect: "ollama", BaseURL: "http://e:1",
		}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.signedIn(u)
	first := b.get(Base + "/t/many/engines")
	if n := strings.Count(first.Body, `data-testid="engine-row"`); n != 50 {
		t.Fatalf("%d rows on the first page, want 50", n)
	}
	wantContains(t, first, `id="next-page"`, "engine-aa", "engine-bx")
	wantLacks(t, first, "engine-by")
	i := strings.Index(first.Body, `href="/console/t/many/engines?after=`)
	if i < 0 {
		t.Fatal("no next page link")
	}
	href := first.Body[i+6:]
	href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
	second := b.get(href)
	wantStatus(t, second, http.StatusOK)
	if n := strings.Count(second.Body, `data-testid="engine-row"`); n != 5 {
		t.Fatalf("%d rows on the second page, want 5", n)
	}
	wantContains(t, second, "engine-by", "engine-cc", `id="first-page"`)
	wantLacks(t, second, `id="next-page"`)
	wantStatus(t, b.get(Base+"/t/many/engines?after=not-a-cursor"), http.StatusBadRequest)
}
