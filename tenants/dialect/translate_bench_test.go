package dialect

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkTranslateWhole is the translation work of one whole chat: the
// request one way, the answer the other.
func BenchmarkTranslateWhole(b *testing.B) {
	r, _ := Lookup("/api/chat")
	body := []byte(`{"model":"llama3","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"temperature":0.2}}`)
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1746093600,"model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}`)
	b.ReportAllocs()
	for b.Loop() {
		tr, err := Translate(r, body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Answer(200, answer, stamp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranslateStreamEvent is the translation work of one streamed
// event: an SSE chunk in, an NDJSON line out.
func BenchmarkTranslateStreamEvent(b *testing.B) {
	tr, err := Translate(routes["/api/chat"], []byte(`{"model":"llama3"}`))
	if err != nil {
		b.Fatal(err)
	}
	event := []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1746093600,"model":"llama3","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}` + "\n\n")
	s := tr.NewStream(200, true, time.Now)
	var out []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		out = s.Write(out[:0], event)
	}
	if !strings.Contains(string(out), `"content":"word "`) {
		b.Fatalf("translated to %s", out)
	}
}
