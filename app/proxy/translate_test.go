package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// An Ollama client's streamed chat with an engine that speaks only the
// OpenAI API: the engine is asked on /v1/chat/completions for a stream
// with usage, and each of its events reaches the client as an NDJSON line
// while the engine still holds the rest; the last line is marked done,
// with the reason and the engine's token counts.
func TestTranslatedChatStreamsLineByLine(t *testing.T) {
	t.Parallel()
	first := `data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"qwen2","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}` + "\n\n"
	rest := `data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"qwen2","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"qwen2","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n" +
		`data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"qwen2","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2}}` + "\n\n" +
		"data: [DONE]\n\n"
	released := make(chan struct{})
	release := sync.OnceFunc(func() { close(released) })
	t.Cleanup(release)
	seenc := make(chan seenRequest, 1)
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seenc <- seenRequest{path: r.URL.Path, body: string(b), header: r.Header.Clone()}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select {
		case <-released:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, rest)
	}))
	tap := newRecordingTap("team-1")
	gw := startGateway(t, Config{Tap: tap}, teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: engine.URL + "/v1", Models: []string{"qwen2"}, Default: true}))

	req, _ := http.NewRequest("POST", gw+"/api/chat", strings.NewReader(`{"model":"qwen2","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2,"temperature":0.5,"top_k":3}}`))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	line := readEarly(t, func() (string, error) { return br.ReadString('\n') })
	want := `{"model":"qwen2","created_at":"2023-11-14T22:13:20Z","message":{"role":"assistant","content":"Hel"},"done":false}` + "\n"
	if line != want {
		t.Fatalf("first line %q, want %q", line, want)
	}
	release()
	all, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	wantRest := `{"model":"qwen2","created_at":"2023-11-14T22:13:20Z","message":{"role":"assistant","content":"lo"},"done":false}` + "\n" +
		`{"model":"qwen2","created_at":"2023-11-14T22:13:20Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","prompt_eval_count":11,"eval_count":2}` + "\n"
	if string(all) != wantRest {
		t.Fatalf("rest\n%s\nwant\n%s", all, wantRest)
	}

	seen := <-seenc
	if seen.path != "/v1/chat/completions" {
		t.Errorf("the engine was asked on %s", seen.path)
	}
	wantBody := `{"model":"qwen2","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.5,"max_tokens":2}`
	if seen.body != wantBody {
		t.Errorf("the engine got\n%s\nwant\n%s", seen.body, wantBody)
	}
	if ae := seen.header.Get("Accept-Encoding"); strings.Contains(ae, "gzip") {
		t.Errorf("the engine was offered a compressed answer (%q), which could not be translated", ae)
	}

	// Memory gets the exchange as the engine saw it, and reads it.
	x := tap.wait(t)
	if x.Path != "/v1/chat/completions" || string(x.Request) != wantBody || string(x.Response) != first+rest || x.Status != 200 {
		t.Errorf("tap got path %s, status %d, request %s, response %q", x.Path, x.Status, x.Request, x.Response)
	}
	p, a := dialect.ReadPrompt(x.Path, x.Request), dialect.ReadAnswer(x.Response)
	if p.Text != "hi" || a.Text != "Hello" || a.CompletionTokens == nil || *a.CompletionTokens != 2 {
		t.Errorf("memory would read prompt %+v, answer %+v", p, a)
	}
}

// A whole chat and the embeddings of an Ollama client, answered whole by an
// OpenAI engine.
func TestTranslatedWholeAnswers(t *testing.T) {
	t.Parallel()
	seen := make(chan seenRequest, 1)
	answers := map[string]string{
		"/v1/chat/completions": `{"id":"c","object":"chat.completion","created":1700000000,"model":"qwen2","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`,
		"/v1/embeddings":       `{"object":"list","model":"qwen2","data":[{"object":"embedding","index":1,"embedding":[0.5,-1e-7]},{"object":"embedding","index":0,"embedding":[1,2]}],"usage":{"prompt_tokens":4,"total_tokens":4}}`,
	}
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{path: r.URL.Path, body: string(b)}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answers[r.URL.Path])
	}))
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: engine.URL, Default: true}))

	for _, tc := range []struct {
		path, body, engineBody, want string
	}{
		{
			"/api/chat", `{"model":"qwen2","stream":false,"format":"json","messages":[{"role":"user","content":"Capital of France?"}]}`,
			`{"model":"qwen2","messages":[{"role":"user","content":"Capital of France?"}],"response_format":{"type":"json_object"}}`,
			`{"model":"qwen2","created_at":"2023-11-14T22:13:20Z","message":{"role":"assistant","content":"Paris."},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":2}`,
		},
		{
			"/api/generate", `{"model":"qwen2","stream":false,"system":"Be brief.","prompt":"Capital of France?","keep_alive":"5m"}`,
			`{"model":"qwen2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}]}`,
			`{"model":"qwen2","created_at":"2023-11-14T22:13:20Z","response":"Paris.","done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":2}`,
		},
		{
			"/api/embed", `{"model":"qwen2","input":["a","b"],"truncate":true}`,
			`{"model":"qwen2","input":["a","b"]}`,
			`{"model":"qwen2","embeddings":[[1,2],[0.5,-1e-7]],"prompt_eval_count":4}`,
		},
		{
			"/api/embeddings", `{"model":"qwen2","prompt":"a"}`,
			`{"model":"qwen2","input":"a"}`,
			`{"embedding":[1,2]}`,
		},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := post(t, gw+tc.path, tc.body)
			body := readBody(t, resp)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if body != tc.want {
				t.Errorf("the client got\n%s\nwant\n%s", body, tc.want)
			}
			if got := <-seen; got.body != tc.engineBody {
				t.Errorf("the engine got %s\n%s\nwant\n%s", got.path, got.body, tc.engineBody)
			}
		})
	}
}

// What goes wrong in a translated exchange: the engine's error keeps its
// status in Ollama's shape, an answer that is not OpenAI's is a 502, a
// stream that breaks off ends with Ollama's error line, and a client's body
// that does not read is a 400 naming the field. /api/show, which has no
// OpenAI counterpart, is still refused.
func TestTranslatedFailures(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch req.Model {
		case "missing":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"message":"The model missing does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>hello</html>")
		case "broken":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"choices":[{"delta":{"content":"par"}}]}`+"\n\n")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the engine dies mid-stream
		case "midstream":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"choices":[{"delta":{"content":"par"}}]}`+"\n\n"+`data: {"error":{"message":"out of memory"}}`+"\n\n")
		}
	}))
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: engine.URL + "/v1", Default: true}))

	t.Run("engine error", func(t *testing.T) {
		for _, stream := range []string{"false", "true"} {
			resp := post(t, gw+"/api/chat", `{"model":"missing","stream":`+stream+`,"messages":[]}`)
			body := readBody(t, resp)
			if resp.StatusCode != 404 || body != `{"error":"The model missing does not exist"}` || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("stream %s: %d %s %s", stream, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	})
	t.Run("not an OpenAI answer", func(t *testing.T) {
		wantError(t, post(t, gw+"/api/generate", `{"model":"html","stream":false}`), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
	})
	t.Run("broken stream", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(readBody(t, post(t, gw+"/api/chat", `{"model":"broken","messages":[]}`))), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"content":"par"`) || !strings.HasPrefix(lines[1], `{"error":"engine vllm broke off`) {
			t.Errorf("a broken stream reads %q", lines)
		}
	})
	t.Run("error in the stream", func(t *testing.T) {
		body := readBody(t, post(t, gw+"/api/generate", `{"model":"midstream"}`))
		want := `{"model":"midstream",` // the engine named no model: the one asked for
		if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], want) || lines[1] != `{"error":"out of memory"}` {
			t.Errorf("a stream with an error reads %q", lines)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		wantError(t, post(t, gw+"/api/chat", `{"model":"x","messages":"hi"}`), http.StatusBadRequest, attach.CodeInvalidJSON)
		wantError(t, post(t, gw+"/api/embed", `{"model":"x","input":5}`), http.StatusBadRequest, attach.CodeInvalidJSON)
		wantError(t, post(t, gw+"/api/generate", `{"model":"x","format":"yaml"}`), http.StatusBadRequest, attach.CodeInvalidJSON)
		wantError(t, post(t, gw+"/api/chat", `{"model":`), http.StatusBadRequest, attach.CodeInvalidJSON)
	})
	t.Run("show", func(t *testing.T) {
		wantError(t, post(t, gw+"/api/show", `{"model":"x"}`), http.StatusBadRequest, attach.CodeDialectMismatch)
	})
}

// An answer too large to copy at once (over 1 MiB: many embeddings) is
// passed through the streaming path; translated, it is gathered and comes
// out whole, as the client asked.
func TestTranslatedLargeAnswer(t *testing.T) {
	t.Parallel()
	vector := "[" + strings.Repeat("0.123456789,", 50_000) + "1]"
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"e","data":[{"index":0,"embedding":`+vector+`},{"index":1,"embedding":`+vector+`},{"index":2,"embedding":[2]}]}`)
	}))
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: engine.URL, Default: true}))
	resp := post(t, gw+"/api/embed", `{"model":"e","input":["a","b","c"]}`)
	body := readBody(t, resp)
	want := `{"model":"e","embeddings":[` + vector + `,` + vector + `,[2]]}`
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || body != want {
		t.Errorf("status %d, Content-Type %q, %d bytes (want %d): %.100s", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(want), body)
	}
}
