package proxy

import (
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// A listing names only what the gateway would route to the engine that
// reported it: a model an engine serves but is not configured for goes to
// the default engine, or nowhere, so it is not offered as that engine's.
func TestListingIsWhatRoutes(t *testing.T) {
	reported := func(names ...string) engineModels {
		var m dialect.Models
		for _, n := range names {
			m.Ollama = append(m.Ollama, dialect.OllamaModel{Name: n})
		}
		return engineModels{models: m}
	}
	names := func(l dialect.OllamaList) string {
		var out []string
		for _, m := range l.Models {
			out = append(out, m.Name)
		}
		return strings.Join(out, " ")
	}
	a := attach.Engine{ID: "a", Name: "a", Dialect: attach.DialectOllama, Models: []string{"alpha"}}
	b := attach.Engine{ID: "b", Name: "b", Dialect: attach.DialectOllama}

	// No default: only configured models route, to their engine.
	l, ok := mergeOllama(teamOf(a, b), []engineModels{reported("alpha", "beta"), reported("gamma")})
	if !ok || names(l) != "alpha" {
		t.Fatalf("no default engine: %q", names(l))
	}
	// b ticked default takes every model nobody lists, its own reports
	// included; a's unlisted beta would go to b, so it is not a's to offer.
	b.Default = true
	l, _ = mergeOllama(teamOf(a, b), []engineModels{reported("alpha", "beta"), reported("gamma")})
	if names(l) != "alpha gamma" {
		t.Fatalf("b default: %q", names(l))
	}
}
