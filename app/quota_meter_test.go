package app

import (
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

type countingMeter struct{ tokens int }

func (m *countingMeter) Measure(u attach.Usage) { m.tokens += u.Tokens() }

// Every meter of the list hears every exchange.
func TestMetersFanOut(t *testing.T) {
	a, b := &countingMeter{}, &countingMeter{}
	meters{a, b}.Measure(attach.Usage{PromptTokens: 3, CompletionTokens: 4})
	if a.tokens != 7 || b.tokens != 7 {
		t.Fatalf("meters heard %d and %d tokens, want 7 each", a.tokens, b.tokens)
	}
}

// Chats, completions and embeddings are metered; lists and /api/show not.
func TestMeteredRoutes(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/chat": true, "/api/generate": true, "/api/embed": true, "/api/embeddings": true,
		"/v1/chat/completions": true, "/v1/completions": true, "/v1/embeddings": true,
		"/api/tags": false, "/api/show": false, "/v1/models": false, "/api/version": false, "/nope": false,
	} {
		if got := metered(path); got != want {
			t.Errorf("metered(%s) = %v, want %v", path, got, want)
		}
	}
}
