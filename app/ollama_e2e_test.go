package app

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/deploy/testkit/ollamatest"
)

// A side-car gateway in front of a real Ollama, called with a real OIDC
// token: the tiny model's answer comes through whole and streamed, in both
// dialects, and each exchange lands in the team's memory as a prompt and
// the answer the engine actually gave.
func TestRealOllamaThroughTheGateway(t *testing.T) {
	t.Parallel()
	eng := ollamatest.Start(t)
	idp := oidctest.Start(t, oidctest.Options{})
	cfg := testConfig(t)
	cfg.OIDCIssuer = idp.Issuer()
	cfg.OIDCAudience = "api://default"
	cfg.EngineURL = eng.URL
	// The first request starts the engine's runner and loads the model,
	// which can take a while on a busy machine.
	cfg.UpstreamTimeout = 2 * time.Minute
	gw := startGateway(t, cfg)
	tok := idp.Token(t, "api://default")

	cases := []struct {
		name, path, body string
		prompt           string
		// answer reads the client's side of the answer: the text, the
		// model the engine named in it and the number of chunks.
		answer func(t *testing.T, resp *http.Response) (string, string, int)
	}{
		{
			"ollama whole", "/api/chat",
			`{"model":"tiny","stream":false,"messages":[{"role":"user","content":"what does the tiny model say?"}]}`,
			"what does the tiny model say?", readOllamaWhole,
		},
		{
			"ollama ndjson", "/api/chat",
			`{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"stream an ollama answer"}]}`,
			"stream an ollama answer", readOllamaStream,
		},
		{
			"openai sse", "/v1/chat/completions",
			`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"stream an openai answer"}]}`,
			"stream an openai answer", readOpenAIStream,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", gw.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			// A session is per user and client: each case is a client of
			// its own, so each exchange is a session of its own.
			req.Header.Set("User-Agent", "ollama-e2e/"+strings.ReplaceAll(tc.name, " ", "-"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			session := resp.Header.Get("X-Attach-Session-Id")
			if resp.StatusCode != 200 || session == "" {
				t.Fatalf("status %d, session %q\nengine:\n%s", resp.StatusCode, session, eng.Output())
			}
			said, served, chunks := tc.answer(t, resp)
			if said != ollamatest.Answer {
				t.Fatalf("the client read %q, want %q", said, ollamatest.Answer)
			}
			if tc.name != "ollama whole" && chunks < 3 {
				t.Errorf("the answer came in %d chunks, want one per token", chunks)
			}

			var events []attach.Event
			pollUntil(t, 30*time.Second, "the exchange in memory", func() bool {
				events = listEvents(t, gw.URL, tok, "session="+url.QueryEscape(session))
				return len(events) >= 2
			})
			if len(events) != 2 {
				t.Fatalf("session %s holds %d events, want a prompt and its response: %v", session, len(events), eventTexts(events))
			}
			// Newest first: the response, then its prompt.
			answer, prompt := events[0], events[1]
			if prompt.Kind != attach.KindPrompt || prompt.Content != tc.prompt || prompt.Role != "user" {
				t.Errorf("prompt event: %+v", prompt)
			}
			if answer.Kind != attach.KindResponse || answer.Content != ollamatest.Answer || answer.Role != "assistant" {
				t.Errorf("response event: kind %s role %q content %q, want %q",
					answer.Kind, answer.Role, answer.Content, ollamatest.Answer)
			}
			for _, e := range events {
				if e.Model != "tiny" {
					t.Errorf("%s event has model %q, want tiny", e.Kind, e.Model)
				}
			}
			// The response also records the model the engine said served
			// it: what the client read in the answer.
			var meta struct {
				ServedModel string `json:"served_model"`
			}
			_ = json.Unmarshal(answer.Metadata, &meta)
			if served == "" || meta.ServedModel != served {
				t.Errorf("response event served_model %q, the client read model %q in the answer (metadata %s)", meta.ServedModel, served, answer.Metadata)
			}
		})
	}
}

func readOllamaWhole(t *testing.T, resp *http.Response) (string, string, int) {
	t.Helper()
	var out struct {
		Model   string
		Message struct{ Content string }
		Done    bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Done {
		t.Fatalf("not a finished chat answer (%v): %+v", err, out)
	}
	return out.Message.Content, out.Model, 1
}

// readOllamaStream reads NDJSON chunks until the one marked done.
func readOllamaStream(t *testing.T, resp *http.Response) (string, string, int) {
	t.Helper()
	var said strings.Builder
	model := ""
	chunks, done := 0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var chunk struct {
			Model   string
			Message struct{ Content string }
			Done    bool
		}
		if err := json.Unmarshal(sc.Bytes(), &chunk); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		if model == "" {
			model = chunk.Model
		}
		said.WriteString(chunk.Message.Content)
		chunks++
		done = chunk.Done
	}
	if err := sc.Err(); err != nil || !done {
		t.Fatalf("stream ended without done (%v) after %q", err, said.String())
	}
	return said.String(), model, chunks
}

// readOpenAIStream reads server-sent events until [DONE].
func readOpenAIStream(t *testing.T, resp *http.Response) (string, string, int) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	var said strings.Builder
	model := ""
	chunks, done := 0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var chunk struct {
			Model   string
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if model == "" {
			model = chunk.Model
		}
		for _, c := range chunk.Choices {
			said.WriteString(c.Delta.Content)
		}
		chunks++
	}
	if err := sc.Err(); err != nil || !done {
		t.Fatalf("stream ended without [DONE] (%v) after %q", err, said.String())
	}
	return said.String(), model, chunks
}
