// Package dialect holds what the gateway knows of the two APIs engines
// speak, Ollama's and OpenAI's: the routes of each and what they do, the
// URL of an engine route, where an engine lists its models and computes
// embeddings and the shapes of those answers, and how to read a chat or
// completion exchange (the prompt; the answer's text, finish reason and
// token counts, whole or streamed as NDJSON or SSE), and how to translate
// an Ollama chat, generate or embedding request for an engine that speaks
// only the OpenAI API and its answer back, whole or as a stream (Translate,
// Translation.Answer, Translation.NewStream), and how to count an
// exchange's tokens as its stream goes by (Tally, which also takes out the
// usage chunk the gateway asked an OpenAI stream for). It is plain Go over
// encoding/json: no HTTP framework, no database.
package dialect

import (
	"maps"
	"slices"

	attach "github.com/attach-dev/attach-gateway"
)

// Kind says what a route does.
type Kind uint8

const (
	// Chat sends a list of messages and gets a message back.
	Chat Kind = iota
	// Completion sends one prompt and gets text back.
	Completion
	// ByModel is any other request that names the model to run.
	ByModel
	// List lists the engine's models.
	List
	// Version asks the engine's version.
	Version
)

// Route is one engine endpoint the gateway exposes.
type Route struct {
	Path, Method string
	Kind         Kind
	// Dialect is the API clients speak on the route.
	Dialect string
	// OpenAIPath is, for an Ollama route, the OpenAI route that does the
	// same: where a client of an OpenAI engine should go instead.
	OpenAIPath string
}

var routes = map[string]*Route{
	"/api/chat":       {Path: "/api/chat", Method: "POST", Kind: Chat, Dialect: attach.DialectOllama, OpenAIPath: "/v1/chat/completions"},
	"/api/generate":   {Path: "/api/generate", Method: "POST", Kind: Completion, Dialect: attach.DialectOllama, OpenAIPath: "/v1/completions"},
	"/api/embed":      {Path: "/api/embed", Method: "POST", Kind: ByModel, Dialect: attach.DialectOllama, OpenAIPath: "/v1/embeddings"},
	"/api/embeddings": {Path: "/api/embeddings", Method: "POST", Kind: ByModel, Dialect: attach.DialectOllama, OpenAIPath: "/v1/embeddings"},
	"/api/show":       {Path: "/api/show", Method: "POST", Kind: ByModel, Dialect: attach.DialectOllama, OpenAIPath: "/v1/models"},
	"/api/tags":       {Path: "/api/tags", Method: "GET", Kind: List, Dialect: attach.DialectOllama},
	"/api/version":    {Path: "/api/version", Method: "GET", Kind: Version, Dialect: attach.DialectOllama},

	"/v1/chat/completions": {Path: "/v1/chat/completions", Method: "POST", Kind: Chat, Dialect: attach.DialectOpenAI},
	"/v1/completions":      {Path: "/v1/completions", Method: "POST", Kind: Completion, Dialect: attach.DialectOpenAI},
	"/v1/embeddings":       {Path: "/v1/embeddings", Method: "POST", Kind: ByModel, Dialect: attach.DialectOpenAI},
	"/v1/models":           {Path: "/v1/models", Method: "GET", Kind: List, Dialect: attach.DialectOpenAI},
}

// Lookup finds the route at path. The route is shared: read it, do not
// change it.
func Lookup(path string) (*Route, bool) {
	r, ok := routes[path]
	return r, ok
}

// Routes lists every engine route, sorted by path.
func Routes() []Route {
	var out []Route
	for _, path := range slices.Sorted(maps.Keys(routes)) {
		out = append(out, *routes[path])
	}
	return out
}

// Accepts reports whether an engine of the given dialect can serve r.
// Ollama serves the OpenAI API natively, so only Ollama routes are picky.
func (r *Route) Accepts(dialect string) bool {
	return r.Dialect == attach.DialectOpenAI || dialect == attach.DialectOllama
}

// Generates tells a chat or completion route: its requests carry a prompt
// and its answers generated text, which memory records.
func (r *Route) Generates() bool { return r.Kind == Chat || r.Kind == Completion }
