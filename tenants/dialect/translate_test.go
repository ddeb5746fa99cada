package dialect

import (
	"errors"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestTranslates(t *testing.T) {
	for _, r := range Routes() {
		want := r.Dialect == attach.DialectOllama && r.Kind != List && r.Kind != Version && r.Path != "/api/show"
		if got := r.Translates(attach.DialectOpenAI); got != want {
			t.Errorf("%s translates for an OpenAI engine: %v, want %v", r.Path, got, want)
		}
		if r.Translates(attach.DialectOllama) {
			t.Errorf("%s translates for an Ollama engine", r.Path)
		}
	}
}

// A tiny PNG's first bytes, base64: enough to tell its type.
const pngB64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		engine, want     string
		stream           bool
	}{
		{
			name: "chat streams by default, asks for usage, maps options and ignores the rest",
			path: "/api/chat",
			body: `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"keep_alive":"5m","think":true,"tools":null,` +
				`"options":{"temperature":0.2,"top_p":0.9,"top_k":40,"num_ctx":4096,"num_predict":-1,"stop":["\n\n"],"seed":7,"frequency_penalty":0.1,"presence_penalty":0.3}}`,
			engine: "/v1/chat/completions", stream: true,
			want: `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},` +
				`"temperature":0.2,"top_p":0.9,"stop":["\n\n"],"seed":7,"frequency_penalty":0.1,"presence_penalty":0.3}`,
		},
		{
			name:   "chat with images, a JSON schema and tools",
			path:   "/api/chat",
			body:   `{"model":"m","stream":false,"format":{"type":"object"},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"what is this?","images":["` + pngB64 + `","/9j/4AAQSkZJRg=="]}],"options":{"num_predict":0}}`,
			engine: "/v1/chat/completions",
			want: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + pngB64 + `"}},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}]}],` +
				`"max_tokens":0,"response_format":{"json_schema":{"name":"response","schema":{"type":"object"}},"type":"json_schema"},"tools":[{"type":"function","function":{"name":"f"}}]}`,
		},
		{
			name: "tool calls get ids, and tool answers the ids of their calls",
			path: "/api/chat",
			body: `{"model":"m","stream":false,"messages":[{"role":"user","content":"weather?"},` +
				`{"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Paris"}}},{"function":{"name":"time"}}]},` +
				`{"role":"tool","tool_name":"time","content":"noon"},{"role":"tool","content":"sunny"},{"role":"tool","content":"extra"}]}`,
			engine: "/v1/chat/completions",
			want: `{"model":"m","messages":[{"role":"user","content":"weather?"},` +
				`{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"time","arguments":"{}"}}]},` +
				`{"role":"tool","content":"noon","tool_call_id":"call_2"},{"role":"tool","content":"sunny","tool_call_id":"call_1"},{"role":"tool","content":"extra","tool_call_id":"call_3"}]}`,
		},
		{
			name:   "generate is a chat of one user message after the system one",
			path:   "/api/generate",
			body:   `{"model":"m","prompt":"Why?","system":"Be brief.","format":"json","images":["` + pngB64 + `"],"context":[1,2]}`,
			engine: "/v1/chat/completions", stream: true,
			want: `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Why?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + pngB64 + `"}}]}],` +
				`"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"}}`,
		},
		{
			name:   "raw generate is a completion",
			path:   "/api/generate",
			body:   `{"model":"m","prompt":"def f(","raw":true,"stream":false,"options":{"num_predict":16}}`,
			engine: "/v1/completions",
			want:   `{"model":"m","prompt":"def f(","max_tokens":16}`,
		},
		{
			name:   "generate with a suffix is a completion",
			path:   "/api/generate",
			body:   `{"model":"m","prompt":"def f(","suffix":"return x","stream":true}`,
			engine: "/v1/completions", stream: true,
			want: `{"model":"m","prompt":"def f(","suffix":"return x","stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:   "embed a list, never streamed",
			path:   "/api/embed",
			body:   `{"model":"m","input":["a","b"],"dimensions":8,"truncate":false,"options":{"temperature":1}}`,
			engine: "/v1/embeddings",
			want:   `{"model":"m","input":["a","b"],"dimensions":8}`,
		},
		{
			name: "embed one text", path: "/api/embed", body: `{"model":"m","input":"a"}`,
			engine: "/v1/embeddings", want: `{"model":"m","input":"a"}`,
		},
		{
			name: "the older embeddings route", path: "/api/embeddings", body: `{"model":"m","prompt":"a"}`,
			engine: "/v1/embeddings", want: `{"model":"m","input":"a"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := Lookup(tc.path)
			tr, err := Translate(r, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tr.Engine.Path != tc.engine || string(tr.Body) != tc.want || tr.Stream != tc.stream || tr.Model != "m" {
				t.Errorf("Translate(%s)\n got %s %s stream=%v model=%s\nwant %s %s stream=%v", tc.path, tr.Engine.Path, tr.Body, tr.Stream, tr.Model, tc.engine, tc.want, tc.stream)
			}
		})
	}
}

func TestTranslateRefuses(t *testing.T) {
	for _, tc := range []struct{ path, body, field string }{
		{"/api/chat", `not json`, ""},
		{"/api/chat", `[1]`, ""},
		{"/api/chat", `{"messages":"hi"}`, "messages"},
		{"/api/chat", `{"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages.content"},
		{"/api/chat", `{"messages":[{"role":"user","content":"x","images":["%%%"]}]}`, "messages.0.images"},
		{"/api/chat", `{"options":{"temperature":"hot"}}`, "options.temperature"},
		{"/api/generate", `{"format":"yaml"}`, "format"},
		{"/api/generate", `{"format":[1]}`, "format"},
		{"/api/generate", `{"images":[""]}`, "images"},
		{"/api/embed", `{"input":5}`, "input"},
		{"/api/embed", `{}`, "input"},
		{"/api/embeddings", `{"prompt":["a"]}`, "prompt"},
	} {
		r, _ := Lookup(tc.path)
		_, err := Translate(r, []byte(tc.body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Message == "" {
			t.Errorf("Translate(%s, %s) = %v, want a FieldError on %q", tc.path, tc.body, err, tc.field)
		}
	}
}

var stamp = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)

func translation(t *testing.T, path, body string) *Translation {
	t.Helper()
	r, _ := Lookup(path)
	tr, err := Translate(r, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestAnswer(t *testing.T) {
	chat := translation(t, "/api/chat", `{"model":"asked","stream":false}`)
	embed := translation(t, "/api/embed", `{"model":"asked","input":"x"}`)
	for _, tc := range []struct {
		name   string
		tr     *Translation
		status int
		body   string
		want   string
		fails  bool
	}{
		{
			name: "tool calls, no text, no model, no usage", tr: chat, status: 200,
			body: `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"x","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},{"function":{"name":"bad","arguments":"{not json"}}]},"finish_reason":"tool_calls"}]}`,
			want: `{"model":"asked","created_at":"2025-05-01T10:00:00Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Paris"}}},{"function":{"name":"bad","arguments":"{not json"}}]},"done":true,"done_reason":"stop"}`,
		},
		{
			name: "a thinking model's whole answer", tr: chat, status: 200,
			body: `{"model":"r1","created":1746093600,"choices":[{"message":{"role":"assistant","content":"4","reasoning_content":"2+2"},"finish_reason":"stop"}]}`,
			want: `{"model":"r1","created_at":"2025-05-01T10:00:00Z","message":{"role":"assistant","content":"4","thinking":"2+2"},"done":true,"done_reason":"stop"}`,
		},
		{
			name: "an OpenAI error keeps its text", tr: chat, status: 429,
			body: `{"error":{"message":"Rate limit reached","type":"requests"}}`,
			want: `{"error":"Rate limit reached"}`,
		},
		{
			name: "an Ollama-style error too", tr: chat, status: 404,
			body: `{"error":"model 'x' not found"}`,
			want: `{"error":"model 'x' not found"}`,
		},
		{
			name: "a page says nothing readable", tr: chat, status: 502,
			body: `<html>Bad Gateway</html>`,
			want: `{"error":"engine answered 502 Bad Gateway"}`,
		},
		{
			name: "an error in a success", tr: chat, status: 200,
			body: `{"error":{"message":"overloaded"}}`,
			want: `{"error":"overloaded"}`,
		},
		{name: "no choices", tr: chat, status: 200, body: `{"choices":[]}`, fails: true},
		{name: "not JSON", tr: chat, status: 200, body: `Hello`, fails: true},
		{
			name: "embeddings out of order", tr: embed, status: 200,
			body: `{"data":[{"index":1,"embedding":[3]},{"index":0,"embedding":[1, 2]}]}`,
			want: `{"model":"asked","embeddings":[[1,2],[3]]}`,
		},
		{name: "a vector missing", tr: embed, status: 200, body: `{"data":[{"index":1,"embedding":[3]},{"index":1,"embedding":[3]}]}`, fails: true},
		{name: "a vector in base64", tr: embed, status: 200, body: `{"data":[{"index":0,"embedding":"AAAA"}]}`, fails: true},
		{name: "no data", tr: embed, status: 200, body: `{"object":"list"}`, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tr.Answer(tc.status, []byte(tc.body), stamp)
			if tc.fails {
				if err == nil {
					t.Errorf("Answer took %s: %s", tc.body, got)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("Answer(%d, %s)\n got %s, %v\nwant %s", tc.status, tc.body, got, err, tc.want)
			}
		})
	}
}

// sse is an OpenAI stream of chat chunks: the texts, a finish reason and
// usage, then [DONE].
func sse(texts ...string) string {
	var b strings.Builder
	for i, s := range texts {
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		b.WriteString(`data: {"model":"served","created":1746093600,"choices":[{"index":0,"delta":{` + role + `"content":"` + s + `"},"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString(`data: {"model":"served","created":1746093600,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"model":"served","created":1746093600,"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func translateStream(tr *Translation, status int, isSSE bool, parts ...string) string {
	s := tr.NewStream(status, isSSE, func() time.Time { return stamp })
	var out []byte
	for _, p := range parts {
		out = s.Write(out, []byte(p))
	}
	return string(s.End(out))
}

func TestStream(t *testing.T) {
	chat := translation(t, "/api/chat", `{"model":"asked"}`)
	gen := translation(t, "/api/generate", `{"model":"asked","prompt":"x"}`)
	whole := translation(t, "/api/chat", `{"model":"asked","stream":false}`)
	const at = `"created_at":"2025-05-01T10:00:00Z"`
	chatLines := `{"model":"served",` + at + `,"message":{"role":"assistant","content":"Hel"},"done":false}` + "\n" +
		`{"model":"served",` + at + `,"message":{"role":"assistant","content":"lo"},"done":false}` + "\n" +
		`{"model":"served",` + at + `,"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":2}` + "\n"
	for _, tc := range []struct {
		name   string
		tr     *Translation
		status int
		sse    bool
		parts  []string
		want   string
	}{
		{name: "chat", tr: chat, status: 200, sse: true, parts: []string{sse("Hel", "lo")}, want: chatLines},
		{name: "chat in pieces, CRLF, comments, junk after DONE", tr: chat, status: 200, sse: true,
			parts: []string{": ping\r\n\r\n", strings.ReplaceAll(sse("Hel", "lo"), "\n", "\r\n")[:40], strings.ReplaceAll(sse("Hel", "lo"), "\n", "\r\n")[40:], "data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n"},
			want:  chatLines},
		{name: "generate", tr: gen, status: 200, sse: true, parts: []string{sse("Hi")},
			want: `{"model":"served",` + at + `,"response":"Hi","done":false}` + "\n" +
				`{"model":"served",` + at + `,"response":"","done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":2}` + "\n"},
		{name: "a completion's text", tr: gen, status: 200, sse: true,
			parts: []string{"data: {\"choices\":[{\"text\":\"Hi\",\"finish_reason\":\"length\"}]}\n\n"},
			want: `{"model":"asked",` + at + `,"response":"Hi","done":false}` + "\n" +
				`{"model":"asked",` + at + `,"response":"","done":true,"done_reason":"length"}` + "\n"},
		{name: "the engine streamed to a client that did not ask", tr: whole, status: 200, sse: true, parts: []string{sse("Hel", "lo")},
			want: `{"model":"served",` + at + `,"message":{"role":"assistant","content":"Hello"},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":2}`},
		{name: "no DONE: the end of the body ends it", tr: chat, status: 200, sse: true,
			parts: []string{"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}"},
			want: `{"model":"asked",` + at + `,"message":{"role":"assistant","content":"a"},"done":false}` + "\n" +
				`{"model":"asked",` + at + `,"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}` + "\n"},
		{name: "tool call in pieces", tr: chat, status: 200, sse: true,
			parts: []string{"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"weather\",\"arguments\":\"\"}}]}}]}\n\n" +
				"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n" +
				"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n" +
				"data: [DONE]\n\n"},
			want: `{"model":"asked",` + at + `,"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Paris"}}}]},"done":true,"done_reason":"stop"}` + "\n"},
		{name: "a thinking model's thought", tr: gen, status: 200, sse: true,
			parts: []string{"data: {\"choices\":[{\"delta\":{\"reasoning\":\"hmm\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"reasoning_content\":\"!\",\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"},
			want: `{"model":"asked",` + at + `,"response":"","thinking":"hmm","done":false}` + "\n" +
				`{"model":"asked",` + at + `,"response":"Hi","thinking":"!","done":false}` + "\n" +
				`{"model":"asked",` + at + `,"response":"","done":true,"done_reason":"stop"}` + "\n"},
		{name: "an error event ends it", tr: chat, status: 200, sse: true,
			parts: []string{"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n" + sse("more")},
			want:  `{"model":"asked",` + at + `,"message":{"role":"assistant","content":"a"},"done":false}` + "\n" + `{"error":"boom"}` + "\n"},
		{name: "a failure status in pieces", tr: chat, status: 500, sse: false,
			parts: []string{`{"error":{"mess`, `age":"down"}}`},
			want:  `{"error":"down"}`},
		{name: "a whole answer to a streaming client", tr: chat, status: 200, sse: false,
			parts: []string{`{"model":"served","choices":[{"message":{"content":"Hello"},"finish_reason":"stop"}]}`},
			want:  `{"model":"served",` + at + `,"message":{"role":"assistant","content":"Hello"},"done":true,"done_reason":"stop"}` + "\n"},
		{name: "a whole answer that is not OpenAI's", tr: whole, status: 200, sse: false,
			parts: []string{`[1,2]`},
			want:  `{"error":"the engine's answer is not OpenAI JSON: json: cannot unmarshal array into Go value of type dialect.openaiAnswer"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := translateStream(tc.tr, tc.status, tc.sse, tc.parts...); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// An event larger than the limit ends the stream with an error instead of
// being held without bound.
func TestStreamLimit(t *testing.T) {
	chat := translation(t, "/api/chat", `{"model":"m"}`)
	s := chat.NewStream(200, true, time.Now)
	big := []byte("data: " + strings.Repeat("x", 1<<20))
	var out []byte
	for range maxEventBytes >> 20 {
		out = s.Write(out, big)
	}
	out = s.Write(out, []byte("\n\n"+sse("a")))
	out = s.End(out)
	if string(out) != `{"error":"the engine sent an event too large to pass on"}`+"\n" {
		t.Errorf("got %.200s", out)
	}
}
