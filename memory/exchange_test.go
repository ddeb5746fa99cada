package memory

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	attach "github.com/attach-dev/attach-gateway"
)

// Bodies as the engines send them (Ollama 0.17, an OpenAI-compatible
// server), trimmed to a few chunks.
const (
	ollamaChatRequest = `{"model":"llama3.2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why is the sky blue?"},{"role":"assistant","content":"Rayleigh scattering."},{"role":"user","content":"Say more, my key is sk-abcdefghijklmnop1234"}],"options":{"temperature":0}}`
	ollamaChatStream  = `{"model":"llama3.2","created_at":"2025-01-01T00:00:00.1Z","message":{"role":"assistant","content":"Sunlight "},"done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00.2Z","message":{"role":"assistant","content":"scatters off "},"done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00.3Z","message":{"role":"assistant","content":"air molecules."},"done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00.4Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":123456,"prompt_eval_count":26,"eval_count":9}
`
	ollamaGenerateRequest = `{"model":"llama3.2","prompt":"Complete: roses are","stream":true}`
	ollamaGenerateStream  = `{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","response":" red","done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","response":", violets","done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","response":" are blue","done":false}
{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","response":"","done":true,"done_reason":"stop","context":[1,2,3],"prompt_eval_count":5,"eval_count":6}
`
	openaiChatRequest = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"Describe this image"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`
	openaiChatSSE     = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A cat\"},\"finish_reason\":null}]}\n\n" +
		": keep-alive comment\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" on a mat.\"},\"finish_reason\":null}]}\r\n\r\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n" +
		"data: [DONE]\n\n"
	openaiChatJSON          = `{"id":"chatcmpl-2","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`
	openaiCompletionRequest = `{"model":"gpt-3.5-turbo-instruct","prompt":["Say this","is a test"],"max_tokens":7}`
	openaiCompletionJSON    = `{"id":"cmpl-1","object":"text_completion","choices":[{"text":"\n\nThis is indeed a test","index":0,"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`
)

func testCleaner(t testing.TB) cleaner {
	t.Helper()
	r, err := NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cleaner{redactor: r, limit: DefaultMaxContent}
}

func metaOf(t testing.TB, e attach.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if len(e.Metadata) > 0 {
		if err := json.Unmarshal(e.Metadata, &m); err != nil {
			t.Fatalf("metadata %s: %v", e.Metadata, err)
		}
	}
	return m
}

func TestExchangeEvents(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	for _, tc := range []struct {
		name                     string
		x                        attach.Exchange
		promptRole, promptText   string
		answerRole, answerText   string
		promptMeta, responseMeta map[string]any
	}{
		{
			name:       "ollama chat stream",
			x:          attach.Exchange{Path: "/api/chat", Status: 200, Request: []byte(ollamaChatRequest), Response: []byte(ollamaChatStream)},
			promptRole: "user", promptText: "Say more, my key is [REDACTED]",
			answerRole: "assistant", answerText: "Sunlight scatters off air molecules.",
			promptMeta:   map[string]any{"messages": 4.0, "stream": true, "path": "/api/chat", "unparsed": nil},
			responseMeta: map[string]any{"finish_reason": "stop", "prompt_tokens": 26.0, "completion_tokens": 9.0, "status": 200.0, "duration_ms": 1500.0, "served_model": "llama3.2"},
		},
		{
			name:       "ollama generate stream",
			x:          attach.Exchange{Path: "/api/generate", Status: 200, Request: []byte(ollamaGenerateRequest), Response: []byte(ollamaGenerateStream)},
			promptRole: "user", promptText: "Complete: roses are",
			answerRole: "assistant", answerText: " red, violets are blue",
			promptMeta:   map[string]any{"stream": true},
			responseMeta: map[string]any{"prompt_tokens": 5.0, "completion_tokens": 6.0},
		},
		{
			name:       "openai chat sse",
			x:          attach.Exchange{Path: "/v1/chat/completions", Status: 200, Request: []byte(openaiChatRequest), Response: []byte(openaiChatSSE)},
			promptRole: "user", promptText: "Describe this image",
			answerRole: "assistant", answerText: "A cat on a mat.",
			promptMeta:   map[string]any{"messages": 1.0, "stream": true},
			responseMeta: map[string]any{"finish_reason": "stop", "prompt_tokens": 12.0, "completion_tokens": 5.0, "served_model": nil},
		},
		{
			name:       "openai chat json",
			x:          attach.Exchange{Path: "/v1/chat/completions", Status: 200, Request: []byte(`{"model":"m","messages":[{"role":"user","content":"Capital of France?"}]}`), Response: []byte(openaiChatJSON)},
			promptRole: "user", promptText: "Capital of France?",
			answerRole: "assistant", answerText: "Paris.",
			promptMeta:   map[string]any{"stream": false},
			responseMeta: map[string]any{"finish_reason": "stop", "completion_tokens": 2.0, "served_model": "gpt-4o-mini"},
		},
		{
			name:       "openai completion json",
			x:          attach.Exchange{Path: "/v1/completions", Status: 200, Request: []byte(openaiCompletionRequest), Response: []byte(openaiCompletionJSON)},
			promptRole: "user", promptText: "Say this\nis a test",
			answerRole: "assistant", answerText: "\n\nThis is indeed a test",
			responseMeta: map[string]any{"finish_reason": "length"},
		},
		{
			name:       "ollama chat not streamed",
			x:          attach.Exchange{Path: "/api/chat", Status: 200, Request: []byte(`{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}`), Response: []byte(`{"model":"m","message":{"role":"assistant","content":"Hello!"},"done":true,"done_reason":"stop"}`)},
			promptRole: "user", promptText: "hi",
			answerRole: "assistant", answerText: "Hello!",
			promptMeta: map[string]any{"stream": false},
		},
		{
			name:       "ollama error",
			x:          attach.Exchange{Path: "/api/chat", Status: 404, Request: []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`), Response: []byte(`{"error":"model 'x' not found"}`)},
			promptRole: "user", promptText: "hi",
			answerRole: "", answerText: "model 'x' not found",
			responseMeta: map[string]any{"status": 404.0, "error": true, "served_model": nil},
		},
		{
			name:       "openai error",
			x:          attach.Exchange{Path: "/v1/chat/completions", Status: 401, Request: []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`), Response: []byte(`{"error":{"message":"Incorrect API key provided: sk-abc12**********7890","type":"invalid_request_error","code":"invalid_api_key"}}`)},
			promptRole: "user", promptText: "hi",
			answerText:   "Incorrect API key provided: sk-abc12**********7890",
			responseMeta: map[string]any{"status": 401.0, "error": true},
		},
		{
			name:       "plain text error",
			x:          attach.Exchange{Path: "/v1/chat/completions", Status: 502, Request: []byte(`{"messages":[{"role":"user","content":"hi"}]}`), Response: []byte("Bad Gateway\n")},
			promptRole: "user", promptText: "hi",
			answerText:   "Bad Gateway",
			responseMeta: map[string]any{"status": 502.0, "error": true},
		},
		{
			name:       "ollama error mid-stream",
			x:          attach.Exchange{Path: "/api/generate", Status: 200, Request: []byte(`{"prompt":"p"}`), Response: []byte("{\"response\":\"par\",\"done\":false}\n{\"error\":\"out of memory\"}\n")},
			promptRole: "user", promptText: "p",
			answerRole: "assistant", answerText: "par",
			responseMeta: map[string]any{"error": "out of memory"},
		},
		{
			name:       "request not JSON",
			x:          attach.Exchange{Path: "/api/generate", Status: 200, Request: []byte("plain words"), Response: []byte(`{"response":"ok","done":true}`)},
			promptRole: "", promptText: "plain words",
			answerRole: "assistant", answerText: "ok",
			promptMeta: map[string]any{"unparsed": true, "stream": nil, "messages": nil, "path": "/api/generate"},
		},
		{
			name:       "answer not JSON",
			x:          attach.Exchange{Path: "/v1/completions", Status: 200, Request: []byte(`{"prompt":"p"}`), Response: []byte("<html>odd</html>")},
			promptRole: "user", promptText: "p",
			answerRole: "assistant", answerText: "<html>odd</html>",
			promptMeta:   map[string]any{"stream": false, "messages": nil, "unparsed": nil},
			responseMeta: map[string]any{"unparsed": true, "status": 200.0, "error": nil, "finish_reason": nil, "prompt_tokens": nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.x.TeamID, tc.x.User, tc.x.Session, tc.x.Engine, tc.x.Start = "team", "alice", "sess-1", "gpu-box", start
			events, err := testCleaner(t).exchangeEvents(tc.x, end)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 {
				t.Fatalf("%d events, want 2", len(events))
			}
			p, r := events[0], events[1]
			if p.Kind != attach.KindPrompt || r.Kind != attach.KindResponse {
				t.Fatalf("kinds %s, %s", p.Kind, r.Kind)
			}
			if p.Role != tc.promptRole || p.Content != tc.promptText {
				t.Errorf("prompt = %q %q, want %q %q", p.Role, p.Content, tc.promptRole, tc.promptText)
			}
			if r.Role != tc.answerRole || r.Content != tc.answerText {
				t.Errorf("response = %q %q, want %q %q", r.Role, r.Content, tc.answerRole, tc.answerText)
			}
			for _, e := range events {
				if e.Session != "sess-1" || e.User != "alice" || e.Engine != "gpu-box" || e.TeamID != "team" {
					t.Errorf("%s lost its identity: %+v", e.Kind, e)
				}
			}
			if !p.CreatedAt.Equal(start) || !r.CreatedAt.Equal(end) {
				t.Errorf("times %v, %v", p.CreatedAt, r.CreatedAt)
			}
			if p.ID >= r.ID {
				t.Errorf("prompt id %s not before response id %s", p.ID, r.ID)
			}
			rm := metaOf(t, r)
			if rm["prompt_id"] != p.ID {
				t.Errorf("response does not link its prompt: %v", rm)
			}
			checkMeta(t, "prompt", metaOf(t, p), tc.promptMeta)
			checkMeta(t, "response", rm, tc.responseMeta)
		})
	}
}

// checkMeta checks the keys of want in got; a nil value wants the key absent.
func checkMeta(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s metadata %s = %v (%T), want %v; all: %v", what, k, got[k], got[k], v, got)
		}
	}
}

func TestExchangeCutStream(t *testing.T) {
	t.Parallel()
	body := openaiChatSSE[:strings.Index(openaiChatSSE, " on a mat")]
	x := attach.Exchange{Path: "/v1/chat/completions", Status: 200, Request: []byte(openaiChatRequest), Response: []byte(body), ResponseCut: true}
	events, err := testCleaner(t).exchangeEvents(x, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := events[1]
	if r.Content != "A cat" || !r.Truncated {
		t.Fatalf("cut stream: %q truncated=%v; want what arrived, marked truncated", r.Content, r.Truncated)
	}
	// Cut inside an NDJSON line, without the proxy saying so.
	body = ollamaChatStream[:strings.Index(ollamaChatStream, "air molecules")]
	x = attach.Exchange{Path: "/api/chat", Status: 200, Request: []byte(ollamaChatRequest), Response: []byte(body)}
	events, err = testCleaner(t).exchangeEvents(x, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := events[1]; r.Content != "Sunlight scatters off " || !r.Truncated {
		t.Fatalf("cut NDJSON: %q truncated=%v", r.Content, r.Truncated)
	}
}

func TestExchangeLongAnswerTruncated(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for range 5000 {
		b.WriteString(`{"message":{"role":"assistant","content":"ab€ "},"done":false}` + "\n")
	}
	c := testCleaner(t)
	c.limit = 1000
	events, err := c.exchangeEvents(attach.Exchange{Path: "/api/chat", Status: 200, Request: []byte(`{"messages":[]}`), Response: []byte(b.String())}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := events[1]
	if len(r.Content) > 1000 || len(r.Content) < 990 || !r.Truncated {
		t.Fatalf("long answer: %d bytes, truncated=%v", len(r.Content), r.Truncated)
	}
	if p := events[0]; p.Content != "" || metaOf(t, p)["messages"] != 0.0 {
		t.Fatalf("empty chat prompt: %+v", p)
	}
}

// oddRequests and oddResponses are bodies at the edges of what the
// recorder reads: every shape it knows, values of the wrong kind, null,
// text that is not UTF-8 or holds NUL, and bodies that are not JSON.
var oddRequests = []string{
	ollamaChatRequest, ollamaGenerateRequest, openaiChatRequest, openaiCompletionRequest,
	``, `null`, `[]`, `5`, `{}`, `not json`, `{"messages":[{"role":"user","content":"hi"}]`,
	`{"messages":null}`, `{"messages":[null]}`, `{"messages":[5]}`, `{"model":5,"messages":[]}`,
	`{"stream":"yes"}`, `{"prompt":["a","",{"text":"b"},"c"]}`, `{"prompt":{"text":"x"}}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"},"d",null,5,[1],{"type":5,"text":"e"}]}]}`,
	`{"messages":[{"role":"user","content":"a\u0000b\ud83d\ude00\ud800x\u2028\\\"\/"}]}`,
	"{\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\xfe utf8 \xed\xa0\x80\"}]}",
	`{"messages":[{"role":"user","content":"password=hunter22 and sk-abcdefghijklmnop1234"}]}`,
}

var oddResponses = []string{
	ollamaChatStream, ollamaGenerateStream, openaiChatSSE, openaiChatJSON, openaiCompletionJSON,
	``, "  \n", `null`, `5`, `[]`, `{}`, "Bad Gateway\n", "]", "{\"response\":\"a\"}\n}\n{\"response\":\"b\"}",
	`{"error":{"message":5}}`, `{"error":[1]}`, `{"error":"a\u0000\ud800 sk-abcdefghijklmnop1234"}`,
	"{\"response\":\"a\"}\nnot json\n{\"response\":\"b\"}\n", `{"choices":[5]}`, `{"choices":[null]}`,
	`{"model":"` + strings.Repeat("m", 20000) + `","message":{"content":"x"}}`, `{"model":5}`, `{"model":"a\u0000\ud800"}`,
	`{"usage":{"prompt_tokens":"1"}}`, `{"eval_count":99999999999999999999}`, `{"done_reason":"a\u0000\xff"}`,
	"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {bad}\n\n", "data\n\n", ": only a comment\n\n", "data: [DONE]",
	"{\"response\":\"bad \xff utf8 and nul \\u0000\"}", "{\"response\":\"\xff\"}\n{\"response\":\"\xfe\"}",
}

var exchangePaths = []string{"/api/chat", "/api/generate", "/v1/chat/completions", "/v1/completions", "/unknown"}

// checkStorable fails the test unless exchangeEvents turns x into a prompt
// and a response Postgres stores as they are: text in valid UTF-8 without
// NUL, within the limit, and metadata a JSON object with the gateway's
// notes.
func checkStorable(t *testing.T, c cleaner, x attach.Exchange) {
	t.Helper()
	events, err := c.exchangeEvents(x, x.Start.Add(time.Second))
	if err != nil || len(events) != 2 {
		t.Fatalf("exchange %q %q: %d events, %v", x.Request, x.Response, len(events), err)
	}
	for _, e := range events {
		if !utf8.ValidString(e.Content) || strings.IndexByte(e.Content, 0) >= 0 || len(e.Content) > c.limit {
			t.Fatalf("exchange %q %q: %s content %q is not fit to store", x.Request, x.Response, e.Kind, e.Content)
		}
		if !utf8.ValidString(e.Role) || !utf8.ValidString(e.Model) {
			t.Fatalf("exchange %q %q: %s role %q or model %q is not UTF-8", x.Request, x.Response, e.Kind, e.Role, e.Model)
		}
	}
	p, r := metaOf(t, events[0]), metaOf(t, events[1])
	_, stream := p["stream"]
	if p["path"] != x.Path || stream == (p["unparsed"] == true) {
		t.Fatalf("exchange %q: prompt metadata %v", x.Request, p)
	}
	if r["prompt_id"] != events[0].ID || r["status"] != float64(x.Status) || r["duration_ms"] != 1000.0 {
		t.Fatalf("exchange %q: response metadata %v", x.Response, r)
	}
	if x.Status >= 400 && (r["error"] != true || events[1].Role != "") {
		t.Fatalf("failed exchange %q: response %q metadata %v", x.Response, events[1].Role, r)
	}
}

func TestOddExchangesAreStorable(t *testing.T) {
	t.Parallel()
	c := testCleaner(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, req := range oddRequests {
		for j, resp := range oddResponses {
			for _, status := range []int{200, 500} {
				checkStorable(t, c, attach.Exchange{Path: exchangePaths[(i+j)%len(exchangePaths)], Status: status, Request: []byte(req), Response: []byte(resp), Start: start})
			}
		}
	}
}

func FuzzExchangeEvents(f *testing.F) {
	for i, req := range oddRequests {
		f.Add(uint8(i), []byte(req), []byte(oddResponses[i%len(oddResponses)]), 200)
	}
	for i, resp := range oddResponses {
		f.Add(uint8(i), []byte(oddRequests[i%len(oddRequests)]), []byte(resp), 200+i%2*300)
	}
	c := testCleaner(f)
	c.limit = 100
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, path uint8, req, resp []byte, status int) {
		checkStorable(t, c, attach.Exchange{Path: exchangePaths[int(path)%len(exchangePaths)], Status: status, Request: req, Response: resp, Start: start})
	})
}

// TestExchangeStoppedByClient: an answer the client stopped keeps what it
// was sent and says "stopped" in its metadata; a whole one does not.
func TestExchangeStoppedByClient(t *testing.T) {
	t.Parallel()
	body := openaiChatSSE[:strings.Index(openaiChatSSE, " on a mat")]
	for _, stopped := range []bool{true, false} {
		x := attach.Exchange{Path: "/v1/chat/completions", Status: 200, Request: []byte(openaiChatRequest), Response: []byte(body), Stopped: stopped}
		events, err := testCleaner(t).exchangeEvents(x, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r := events[1]
		var meta struct {
			Stopped *bool `json:"stopped"`
		}
		if err := json.Unmarshal(r.Metadata, &meta); err != nil {
			t.Fatal(err)
		}
		if r.Content != "A cat" || (meta.Stopped != nil) != stopped || (stopped && !*meta.Stopped) {
			t.Fatalf("stopped=%v: content %q, metadata %s", stopped, r.Content, r.Metadata)
		}
	}
}
