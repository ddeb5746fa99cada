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
