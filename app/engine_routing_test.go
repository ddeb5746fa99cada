package app

import (
	"encoding/json"
	"strings"
	"testing"
)

// A model no engine lists goes to the default engine only when one is
// ticked default, as the engine form says; with none the gateway refuses
// it and the engine is not called. The listings keep showing the engine's
// models either way.
func TestUnknownModelNeedsADefaultEngine(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)

	admin.post("/teams", `{"slug":"routes","name":"Routes"}`, 201)
	engineBody := func(def bool) string {
		return `{"name":"only","dialect":"ollama","base_url":"` + eng.URL() + `","models":["tiny"],"default":` + map[bool]string{true: "true", false: "false"}[def] + `}`
	}
	e := admin.post("/teams/routes/engines", engineBody(false), 201)
	key, _ := admin.post("/teams/routes/keys", `{"name":"client"}`, 201)["key"].(string)
	waitFor(t, "the key and engine on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/routes/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})

	before := eng.hits.Load()
	for _, path := range []string{"/api/chat", "/v1/chat/completions", "/api/generate"} {
		resp, body := call(t, "POST", gw.URL+"/t/routes"+path, key, `{"model":"phi3","messages":[{"role":"user","content":"hi"}],"prompt":"hi","stream":false}`)
		if resp.StatusCode != 404 || errorCode(t, body) != "unknown_model" {
			t.Fatalf("%s for an unknown model with no default engine: %d %s", path, resp.StatusCode, body)
		}
		var e struct {
			Error struct{ Message, Field string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(body), &e)
		if e.Error.Field != "model" || !strings.Contains(e.Error.Message, `"phi3"`) || !strings.Contains(e.Error.Message, "it serves tiny") {
			t.Fatalf("%s refusal should name the field, the model asked for and the models served: %s", path, body)
		}
	}
	if got := eng.hits.Load() - before; got != 0 {
		t.Fatalf("the engine was called %d times for refused requests", got)
	}

	// A model the engine lists is served, under either spelling.
	if resp, body := call(t, "POST", gw.URL+"/t/routes/api/chat", key, strings.Replace(chatBody, `"tiny"`, `"tiny:latest"`, 1)); resp.StatusCode != 200 {
		t.Fatalf("listed model: %d %s", resp.StatusCode, body)
	}
	if got := eng.hits.Load() - before; got != 1 {
		t.Fatalf("engine hits = %d, want 1", got)
	}

	// The listings still show the engine's models.
	for _, path := range []string{"/api/tags", "/v1/models"} {
		resp, body := call(t, "GET", gw.URL+"/t/routes"+path, key, "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"tiny:latest"`) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	// Ticked default, the same engine takes the unknown model.
	admin.do("PUT", "/teams/routes/engines/"+e["id"].(string), engineBody(true), 200)
	waitFor(t, "the default flag on the request path", func() bool {
		s, ok := gw.dir.Team("routes")
		return ok && len(s.Engines) == 1 && s.Engines[0].Default
	})
	before = eng.hits.Load()
	resp, body := call(t, "POST", gw.URL+"/t/routes/api/chat", key, strings.Replace(chatBody, `"tiny"`, `"phi3"`, 1))
	if resp.StatusCode != 200 {
		t.Fatalf("unknown model with a default engine: %d %s", resp.StatusCode, body)
	}
	if got := eng.hits.Load() - before; got != 1 {
		t.Fatalf("engine hits = %d, want 1", got)
	}
	if _, up := eng.lastRequest(); !strings.Contains(string(up), `"phi3"`) {
		t.Fatalf("the default engine got %s", up)
	}
}

// Side-car mode: ENGINE_URL's engine is the default, so any model goes to it.
func TestSidecarEngineTakesAnyModel(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	tok := idp.Token(t, "api://default")
	resp, body := call(t, "POST", gw.URL+"/api/chat", tok, strings.Replace(chatBody, `"tiny"`, `"anything-else"`, 1))
	if resp.StatusCode != 200 {
		t.Fatalf("side-car, unlisted model: %d %s", resp.StatusCode, body)
	}
	if eng.hits.Load() != 1 {
		t.Fatalf("engine hits = %d, want 1", eng.hits.Load())
	}
	if resp, body := call(t, "GET", gw.URL+"/api/tags", tok, ""); resp.StatusCode != 200 || !strings.Contains(body, "tiny:latest") {
		t.Fatalf("side-car /api/tags: %d %s", resp.StatusCode, body)
	}
}
