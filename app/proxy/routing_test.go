package proxy

import (
	"net/http"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestModelRouting(t *testing.T) {
	t.Parallel()
	local, localSeen := recordingEngine(t, nil)
	vllm, vllmSeen := recordingEngine(t, nil)
	big, bigSeen := recordingEngine(t, nil)
	team := teamOf(
		attach.Engine{Name: "local", Dialect: attach.DialectOllama, BaseURL: local.URL, Models: []string{"llama3"}, Default: true},
		attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: vllm.URL + "/v1/", Models: []string{"qwen2"}},
		attach.Engine{Name: "big", Dialect: attach.DialectOllama, BaseURL: big.URL + "/ollama/", Models: []string{"mistral:latest"}},
	)
	gw := startGateway(t, Config{}, team)

	cases := []struct {
		name, method, path, body string
		seen                     chan seenRequest
		upstreamPath             string
	}{
		{"latest equals bare name", "POST", "/api/chat", `{"model":"llama3:latest"}`, localSeen, "/api/chat"},
		{"bare name equals latest", "POST", "/api/generate", `{"model":"mistral"}`, bigSeen, "/ollama/api/generate"},
		{"no model goes to the default", "POST", "/api/embed", `{"input":"x"}`, localSeen, "/api/embed"},
		{"unknown model goes to the default", "POST", "/api/embeddings", `{"model":"phi3"}`, localSeen, "/api/embeddings"},
		{"show by legacy name", "POST", "/api/show", `{"name":"mistral"}`, bigSeen, "/ollama/api/show"},
		{"openai engine, base ends in /v1", "POST", "/v1/chat/completions", `{"model":"qwen2"}`, vllmSeen, "/v1/chat/completions"},
		{"openai route on an ollama engine", "POST", "/v1/embeddings", `{"model":"mistral"}`, bigSeen, "/ollama/v1/embeddings"},
		{"completions", "POST", "/v1/completions", `{"model":"llama3"}`, localSeen, "/v1/completions"},
		{"version from the default ollama engine", "GET", "/api/version", ``, localSeen, "/api/version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, gw+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, body %s", resp.StatusCode, body)
			}
			select {
			case r := <-tc.seen:
				if r.path != tc.upstreamPath || r.method != tc.method || r.body != tc.body {
					t.Fatalf("engine saw %s %s %q, want %s %s %q", r.method, r.path, r.body, tc.method, tc.upstreamPath, tc.body)
				}
			default:
				t.Fatal("the request reached another engine")
			}
		})
	}

	t.Run("ollama route on an openai engine is translated", func(t *testing.T) {
		// The stand-in engine's {"ok":true} is no OpenAI answer: 502.
		wantError(t, post(t, gw+"/api/chat", `{"model":"qwen2","stream":false}`), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
		if r := <-vllmSeen; r.path != "/v1/chat/completions" || r.body != `{"model":"qwen2"}` {
			t.Errorf("engine saw %s %s", r.path, r.body)
		}
	})
	t.Run("dialect mismatch", func(t *testing.T) {
		msg := wantError(t, post(t, gw+"/api/show", `{"model":"qwen2"}`), http.StatusBadRequest, attach.CodeDialectMismatch)
		if !strings.Contains(msg, "/v1/models") || !strings.Contains(msg, "vllm") {
			t.Errorf("message %q should name the engine and point to /v1/models", msg)
		}
	})
	t.Run("invalid json", func(t *testing.T) {
		wantError(t, post(t, gw+"/api/chat", `{"model":`), http.StatusBadRequest, attach.CodeInvalidJSON)
		wantError(t, post(t, gw+"/v1/chat/completions", `{"model":42}`), http.StatusBadRequest, attach.CodeInvalidJSON)
	})
	t.Run("wrong method", func(t *testing.T) {
		resp := get(t, gw+"/api/chat")
		if allow := resp.Header.Get("Allow"); allow != "POST" {
			t.Errorf("Allow = %q, want POST", allow)
		}
		wantError(t, resp, http.StatusMethodNotAllowed, attach.CodeMethodNotAllowed)
	})
	t.Run("unknown route", func(t *testing.T) {
		wantError(t, post(t, gw+"/api/pull", `{}`), http.StatusNotFound, attach.CodeNotFound)
	})
	for _, ch := range []chan seenRequest{localSeen, vllmSeen, bigSeen} {
		if len(ch) != 0 {
			t.Errorf("an engine saw %d requests the gateway should have refused", len(ch))
		}
	}
}

func TestNoEngineForModel(t *testing.T) {
	t.Parallel()
	a, _ := recordingEngine(t, nil)
	gw := startGateway(t, Config{}, teamOf(
		attach.Engine{Name: "a", Dialect: attach.DialectOllama, BaseURL: a.URL, Models: []string{"llama3"}},
		attach.Engine{Name: "b", Dialect: attach.DialectOllama, BaseURL: a.URL, Models: []string{"mistral"}},
	))
	msg := wantError(t, post(t, gw+"/api/chat", `{"model":"phi3"}`), http.StatusNotFound, ReasonUnknownModel)
	if !strings.Contains(msg, "phi3") || !strings.Contains(msg, "llama3, mistral") {
		t.Errorf("message %q should name the model and the models the team serves", msg)
	}
	wantError(t, post(t, gw+"/api/chat", `{}`), http.StatusNotFound, attach.CodeNoEngine)

	// One engine, not ticked default: it takes only the models it lists.
	one, oneSeen := recordingEngine(t, nil)
	single := startGateway(t, Config{}, teamOf(attach.Engine{Name: "one", Dialect: attach.DialectOllama, BaseURL: one.URL, Models: []string{"tiny"}}))
	wantError(t, post(t, single+"/api/chat", `{"model":"phi3"}`), http.StatusNotFound, ReasonUnknownModel)
	wantError(t, post(t, single+"/v1/chat/completions", `{"model":"phi3"}`), http.StatusNotFound, ReasonUnknownModel)
	if len(oneSeen) != 0 {
		t.Fatalf("the engine saw %d requests for a model it does not list", len(oneSeen))
	}
	resp := post(t, single+"/api/chat", `{"model":"tiny:latest"}`)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("listed model: status %d, body %s", resp.StatusCode, body)
	}

	openaiOnly := startGateway(t, Config{}, teamOf(attach.Engine{Name: "v", Dialect: attach.DialectOpenAI, BaseURL: a.URL, Default: true}))
	wantError(t, get(t, openaiOnly+"/api/version"), http.StatusNotFound, attach.CodeNoEngine)
}
