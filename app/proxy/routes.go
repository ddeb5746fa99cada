package proxy

import (
	"maps"
	"slices"

	attach "github.com/attach-dev/attach-gateway"
)

// routeKind says how the proxy treats a route.
type routeKind uint8

const (
	// kindModel routes by the "model" field of a JSON request body.
	kindModel routeKind = iota
	// kindList merges the model lists of all the team's engines.
	kindList
	// kindVersion asks the team's default Ollama engine.
	kindVersion
)

// route is one engine endpoint the gateway exposes.
type route struct {
	path    string
	method  string
	kind    routeKind
	dialect string // the API the client speaks on this route
	// openAIPath is where a client of an OpenAI-dialect engine should go
	// instead of this Ollama route.
	openAIPath string
	// tapped routes carry prompts and answers, which memory mirrors.
	tapped bool
}

var routes = map[string]*route{
	"/api/chat":       {path: "/api/chat", method: "POST", kind: kindModel, dialect: attach.DialectOllama, openAIPath: "/v1/chat/completions", tapped: true},
	"/api/generate":   {path: "/api/generate", method: "POST", kind: kindModel, dialect: attach.DialectOllama, openAIPath: "/v1/completions", tapped: true},
	"/api/embed":      {path: "/api/embed", method: "POST", kind: kindModel, dialect: attach.DialectOllama, openAIPath: "/v1/embeddings"},
	"/api/embeddings": {path: "/api/embeddings", method: "POST", kind: kindModel, dialect: attach.DialectOllama, openAIPath: "/v1/embeddings"},
	"/api/show":       {path: "/api/show", method: "POST", kind: kindModel, dialect: attach.DialectOllama, openAIPath: "/v1/models"},
	"/api/tags":       {path: "/api/tags", method: "GET", kind: kindList, dialect: attach.DialectOllama},
	"/api/version":    {path: "/api/version", method: "GET", kind: kindVersion, dialect: attach.DialectOllama},

	"/v1/chat/completions": {path: "/v1/chat/completions", method: "POST", kind: kindModel, dialect: attach.DialectOpenAI, tapped: true},
	"/v1/completions":      {path: "/v1/completions", method: "POST", kind: kindModel, dialect: attach.DialectOpenAI, tapped: true},
	"/v1/embeddings":       {path: "/v1/embeddings", method: "POST", kind: kindModel, dialect: attach.DialectOpenAI},
	"/v1/models":           {path: "/v1/models", method: "GET", kind: kindList, dialect: attach.DialectOpenAI},
}

// Endpoint is a method and path Serve handles.
type Endpoint struct{ Method, Path string }

// Routes lists the endpoints Serve handles, sorted by path, for the server's
// router: the proxy's table is the one list of engine routes.
func Routes() []Endpoint {
	var out []Endpoint
	for _, path := range slices.Sorted(maps.Keys(routes)) {
		out = append(out, Endpoint{Method: routes[path].method, Path: path})
	}
	return out
}

// accepts reports whether an engine of the given dialect can serve r.
// Ollama serves the OpenAI API natively, so only Ollama routes are picky.
func (r *route) accepts(dialect string) bool {
	return r.dialect == attach.DialectOpenAI || dialect == attach.DialectOllama
}
