package memory

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// benchExchanges are the shapes of exchange the recorder sees most: the
// tiny non-streamed chat of the load bench, streamed answers in both
// dialects, and a long prompt behind a history.
func benchExchanges(tb testing.TB) []struct {
	name string
	x    attach.Exchange
} {
	tb.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	base := attach.Exchange{TeamID: "team", User: "alice", Session: "s1", Engine: "gpu-box", Status: 200, Start: start}

	tiny := base
	tiny.Path = "/api/chat"
	tiny.Request = []byte(`{"model":"tiny","messages":[{"role":"user","content":"Say hello"}],"stream":false}`)
	tiny.Response = benchChatReply(start)

	ndjson := base
	ndjson.Path = "/api/chat"
	ndjson.Request = []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}]}`)
	ndjson.Response = benchOllamaStream(50)

	sse := base
	sse.Path = "/v1/chat/completions"
	sse.Request = []byte(`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Why is the sky blue?"}]}`)
	sse.Response = benchOpenAIStream(50)

	long := base
	long.Path = "/api/chat"
	long.Request = benchLongChat(tb, 10, 4<<10)
	long.Response = benchChatReply(start)

	return []struct {
		name string
		x    attach.Exchange
	}{
		{"tiny", tiny},
		{"ollama-ndjson-50", ndjson},
		{"openai-sse-50", sse},
		{"long-prompt-history", long},
	}
}

// benchChatReply is the stand-in engine's answer of the load bench.
func benchChatReply(now time.Time) []byte {
	return fmt.Appendf(nil, `{"model":"tiny","created_at":%q,"message":{"role":"assistant","content":"Hello!"},`+
		`"done_reason":"stop","done":true,"total_duration":1250000,"load_duration":50000,`+
		`"prompt_eval_count":8,"prompt_eval_duration":400000,"eval_count":3,"eval_duration":600000}`,
		now.UTC().Format(time.RFC3339Nano))
}

func benchOllamaStream(chunks int) []byte {
	var b strings.Builder
	for i := range chunks - 1 {
		fmt.Fprintf(&b, `{"model":"llama3.2","created_at":"2025-01-01T00:00:00.%03dZ","message":{"role":"assistant","content":"word%d "},"done":false}`+"\n", i, i)
	}
	b.WriteString(`{"model":"llama3.2","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":123456,"prompt_eval_count":26,"eval_count":49}` + "\n")
	return []byte(b.String())
}

func benchOpenAIStream(chunks int) []byte {
	var b strings.Builder
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	for i := range chunks - 3 {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word%d "},"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":47,"total_tokens":59}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

// benchLongChat is a chat of history messages, then a prompt of size bytes
// of ordinary prose.
func benchLongChat(tb testing.TB, history, size int) []byte {
	tb.Helper()
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var msgs []message
	for i := range history {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, message{role, fmt.Sprintf("Message %d of the history: a sentence or two about the weather and the sea.", i)})
	}
	const sentence = "The quick brown fox jumps over the lazy dog, and then considers the meaning of it all. "
	prompt := strings.Repeat(sentence, size/len(sentence)+1)[:size]
	msgs = append(msgs, message{"user", prompt})
	body, err := json.Marshal(map[string]any{"model": "llama3.2", "stream": false, "messages": msgs})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkExchangeEvents measures turning one finished exchange into its
// two cleaned events: the recorder's whole in-process cost per exchange.
func BenchmarkExchangeEvents(b *testing.B) {
	c := testCleaner(b)
	for _, bc := range benchExchanges(b) {
		end := bc.x.Start.Add(1500 * time.Millisecond)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				events, err := c.exchangeEvents(bc.x, end)
				if err != nil || len(events) != 2 {
					b.Fatalf("%d events, %v", len(events), err)
				}
			}
		})
	}
}

// BenchmarkRedact measures redaction alone: prose with no secret, short
// and long, and prose with a key in it.
func BenchmarkRedact(b *testing.B) {
	r, err := NewRedactor(nil)
	if err != nil {
		b.Fatal(err)
	}
	const sentence = "The quick brown fox jumps over the lazy dog, and then considers the meaning of it all. "
	long := strings.Repeat(sentence, 4<<10/len(sentence))
	for _, bc := range []struct{ name, text string }{
		{"short", "Say hello"},
		{"prose-4k", long},
		{"secret-4k", long + " my key is sk-abcdefghijklmnop1234"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				r.Redact(bc.text)
			}
		})
	}
}
