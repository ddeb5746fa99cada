// Package mcptest runs a real MCP server (the official Go SDK's
// Streamable HTTP server) on 127.0.0.1 for tests, and the official
// TypeScript SDK as a client (js/client.mjs, see Client).
//
// The server has one tool, "whoami", which answers with what the server
// was told about the caller: the X-Attach-* identity headers and the
// Authorization header of the request that carried the call. It counts
// every HTTP request it gets, so a test can prove a refused call never
// reached it. With a Credential set it refuses requests without it, with a
// challenge of its own that the gateway must not pass on.
package mcptest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options change how the server runs. The zero value is ready to use.
type Options struct {
	// Credential, when set, is the Bearer token the server requires.
	Credential string
	// JSONResponse answers POSTs with application/json rather than an
	// SSE stream.
	JSONResponse bool
}

// Seen is what the server saw of one HTTP request.
type Seen struct {
	Method, Authorization, User, Session, Tenant, Via string
	SessionID, ProtocolVersion                        string
}

// Server is a running MCP server.
type Server struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []Seen
}

// Whoami is the whoami tool's answer.
type Whoami struct {
	User          string `json:"user"`
	Session       string `json:"session"`
	Tenant        string `json:"tenant"`
	Authorization string `json:"authorization"`
	Note          string `json:"note"`
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{}
	server := mcp.NewServer(&mcp.Implementation{Name: "attach-mcptest", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Says who the server was told is calling."},
		func(_ context.Context, req *mcp.CallToolRequest, in struct {
			Note string `json:"note"`
		}) (*mcp.CallToolResult, Whoami, error) {
			h := req.Extra.Header
			return nil, Whoami{
				User: h.Get("X-Attach-User"), Session: h.Get("X-Attach-Session"), Tenant: h.Get("X-Attach-Tenant"),
				Authorization: h.Get("Authorization"), Note: in.Note,
			}, nil
		})
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{JSONResponse: opts.JSONResponse})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, Seen{
			Method: r.Method, Authorization: r.Header.Get("Authorization"),
			User: r.Header.Get("X-Attach-User"), Session: r.Header.Get("X-Attach-Session"),
			Tenant: r.Header.Get("X-Attach-Tenant"), Via: r.Header.Get("Via"),
			SessionID: r.Header.Get("Mcp-Session-Id"), ProtocolVersion: r.Header.Get("Mcp-Protocol-Version"),
		})
		s.mu.Unlock()
		if r.URL.Path != "/mcp" {
			http.NotFound(w, r)
			return
		}
		if opts.Credential != "" && r.Header.Get("Authorization") != "Bearer "+opts.Credential {
			// The server's own authorization server: a client sent here
			// would sign in at the wrong place.
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://upstream.invalid/.well-known/oauth-protected-resource"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's MCP endpoint.
func (s *Server) URL() string { return s.srv.URL + "/mcp" }

// Hits is how many HTTP requests reached the server.
func (s *Server) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// Seen is every request the server got, in order.
func (s *Server) Seen() []Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Seen(nil), s.seen...)
}
