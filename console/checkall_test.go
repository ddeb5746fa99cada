package console

import (
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

type pair struct{ A, B string }

func checkPair(p pair) error {
	switch {
	case p.A == "":
		return attach.Invalid("a", "is required")
	case p.B == "":
		return attach.Invalid("b", "is required")
	}
	return nil
}

func TestCheckAll(t *testing.T) {
	mend := map[string]func(*pair){"a": func(p *pair) { p.A = "x" }, "b": func(p *pair) { p.B = "x" }}
	fe := checkAll(pair{}, checkPair, mend)
	if fe["a"] != "Is required" || fe["b"] != "Is required" || len(fe) != 2 {
		t.Errorf("both fields empty: %v", fe)
	}
	if fe := checkAll(pair{A: "ok", B: "ok"}, checkPair, mend); len(fe) != 0 {
		t.Errorf("a good input: %v", fe)
	}
	// A field without a mend stops the search after its own error.
	if fe := checkAll(pair{}, checkPair, map[string]func(*pair){}); len(fe) != 1 || fe["a"] == "" {
		t.Errorf("no mends: %v", fe)
	}
	// A mend that does not mend ends the loop instead of spinning.
	stuck := map[string]func(*pair){"a": func(*pair) {}}
	if fe := checkAll(pair{}, checkPair, stuck); len(fe) != 1 {
		t.Errorf("a mend that does not mend: %v", fe)
	}
	if len(mend) != 2 {
		t.Error("checkAll changed the caller's mends")
	}
}
