package a2atest

import (
	"net/http"
	"sync"
	"testing"
)

// CardPath is where both agents serve their agent card, below their base URL.
const CardPath = "/.well-known/agent-card.json"

// Agent is a running test agent of either protocol version.
type Agent struct {
	// URL is the agent's base URL, http://127.0.0.1:PORT, where it takes
	// JSON-RPC requests (POST) and the URL its card names.
	URL string
	// CardURL is URL + CardPath.
	CardURL string
	// Version is the A2A protocol version the agent speaks: "0.3" or "1.0".
	Version string

	mu          sync.Mutex
	lastHeaders http.Header                 // 0.3: the last JSON-RPC request's headers
	fetch       func() (http.Header, error) // 1.0: asks the node agent for them
}

// LastHeaders are the headers of the last JSON-RPC request the agent
// received (card requests not counted), or an empty header when none came.
func (a *Agent) LastHeaders(t testing.TB) http.Header {
	t.Helper()
	if a.fetch != nil {
		h, err := a.fetch()
		if err != nil {
			t.Fatalf("a2atest: last headers of the %s agent: %v", a.Version, err)
		}
		return h
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastHeaders.Clone()
}

// HeaderReport is what the `headers` command answers, as JSON text: the
// X-Attach-* request headers by lower-case name, and whether an
// Authorization header arrived (its value is never reported).
type HeaderReport struct {
	Authorization bool              `json:"authorization"`
	Headers       map[string]string `json:"headers"`
}
