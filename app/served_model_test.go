package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// servedName is the model an engine names in its answers whatever was
// asked: a server that maps aliases, or picks a model of its own.
const servedName = "tiny:q8-on-the-box"

// newRenamingEngine answers chats, whole or streamed, in both dialects,
// under servedName.
func newRenamingEngine(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Stream *bool `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		switch {
		case r.URL.Path == "/api/chat" && req.Stream != nil && !*req.Stream:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"model":"`+servedName+`","message":{"role":"assistant","content":"Hello!"},"done":true}`)
		case r.URL.Path == "/api/chat":
			w.Header().Set("Content-Type", "application/x-ndjson")
			io.WriteString(w, `{"model":"`+servedName+`","message":{"role":"assistant","content":"Hel"},"done":false}`+"\n")
			io.WriteString(w, `{"model":"`+servedName+`","message":{"role":"assistant","content":"lo!"},"done":true}`+"\n")
		case r.URL.Path == "/v1/chat/completions":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, `data: {"model":"`+servedName+`","choices":[{"delta":{"role":"assistant","content":"Hello!"}}]}`+"\n\n")
			io.WriteString(w, "data: [DONE]\n\n")
		default:
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The response event keeps the model asked for as its model and the one
// the engine said answered as served_model, whole or streamed, in both
// dialects.
func TestMemoryRecordsTheServedModel(t *testing.T) {
	t.Parallel()
	eng := newRenamingEngine(t)
	gw := startGateway(t, testConfig(t))
	team := newMemTeam(t, gw, "served", eng.URL, "")

	for _, tc := range []struct{ name, path, body string }{
		{"ollama whole", "/api/chat", `{"model":"tiny-alias","stream":false,"messages":[{"role":"user","content":"hi"}]}`},
		{"ollama stream", "/api/chat", `{"model":"tiny-alias","messages":[{"role":"user","content":"hi"}]}`},
		{"openai sse", "/v1/chat/completions", `{"model":"tiny-alias","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := call(t, "POST", team.url+tc.path, team.adminKey, tc.body, "User-Agent", "served/"+tc.name)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			session := resp.Header.Get("X-Attach-Session-Id")
			var events []attach.Event
			pollUntil(t, 10*time.Second, "the exchange in memory", func() bool {
				events = listEvents(t, team.url, team.adminKey, "session="+url.QueryEscape(session))
				return len(events) == 2
			})
			answer, prompt := events[0], events[1]
			if answer.Kind != attach.KindResponse || answer.Model != "tiny-alias" || prompt.Model != "tiny-alias" {
				t.Fatalf("events keep the model asked for: response %q, prompt %q", answer.Model, prompt.Model)
			}
			var meta struct {
				ServedModel *string `json:"served_model"`
			}
			_ = json.Unmarshal(answer.Metadata, &meta)
			if meta.ServedModel == nil || *meta.ServedModel != servedName {
				t.Fatalf("response metadata %s, want served_model %q", answer.Metadata, servedName)
			}
			var pmeta map[string]any
			_ = json.Unmarshal(prompt.Metadata, &pmeta)
			if _, ok := pmeta["served_model"]; ok {
				t.Errorf("the prompt event claims a served model: %s", prompt.Metadata)
			}
		})
	}
}
