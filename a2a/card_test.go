package a2a

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// Cards as real agents publish them: an A2A 0.3 agent (the a2a-go and
// a2a-python SDKs' shape) and an A2A 1.0 agent.
const (
	card03 = `{
  "protocolVersion": "0.3.0",
  "name": "Travel planner",
  "description": "Plans trips and books them.",
  "url": "https://agents.example/travel/a2a",
  "preferredTransport": "JSONRPC",
  "version": "2.1.0",
  "capabilities": {"streaming": true, "pushNotifications": false},
  "defaultInputModes": ["text/plain"],
  "defaultOutputModes": ["text/plain", "application/json"],
  "skills": [
    {"id": "plan-trip", "name": "Plan a trip", "description": "Makes an itinerary.", "tags": ["travel", "planning"], "examples": ["Plan 3 days in Lisbon"]},
    {"id": "book-hotel", "name": "Book a hotel", "description": "Books a room.", "tags": ["travel"]}
  ]
}`
	card10 = `{
  "name": "Code reviewer",
  "description": "Reviews pull requests.",
  "supportedInterfaces": [
    {"url": "https://agents.example/review/a2a/v1", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
    {"url": "https://agents.example/review/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"}
  ],
  "provider": {"organization": "Example", "url": "https://example.com"},
  "version": "1.0.0",
  "capabilities": {"streaming": true},
  "defaultInputModes": ["text/plain"],
  "defaultOutputModes": ["text/plain"],
  "skills": [
    {"id": "review", "name": "Review a change", "description": "Comments on a diff.", "tags": ["code"]}
  ]
}`
)

// cardServer serves body at path (others answer 404) and records the
// headers of the requests it gets.
type cardServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	paths   []string
}

func serveCard(t *testing.T, path string, status int, body string) *cardServer {
	t.Helper()
	s := &cardServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// guarded is the client the gateway fetches cards with: its network
// policy, loopback allowed as on a self-hosted install.
func guarded() *http.Client { return netguard.Policy{AllowPrivate: true}.HTTPClient(5 * time.Second) }

func TestFetchCard03(t *testing.T) {
	t.Parallel()
	srv := serveCard(t, "/.well-known/agent-card.json", 200, card03)
	c, err := FetchCard(context.Background(), guarded(), srv.URL+"/", "agent-secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "0.3" || c.Name != "Travel planner" || c.Description != "Plans trips and books them." {
		t.Fatalf("card = %+v", c)
	}
	if len(c.Skills) != 2 || c.Skills[0].ID != "plan-trip" || c.Skills[0].Name != "Plan a trip" || strings.Join(c.Skills[0].Tags, ",") != "travel,planning" {
		t.Fatalf("skills = %+v", c.Skills)
	}
	if string(c.Raw) != card03 {
		t.Fatal("the raw card differs from what the agent served")
	}
	h := srv.headers[0]
	if h.Get("Authorization") != "Bearer agent-secret-1234" {
		t.Errorf("Authorization = %q", h.Get("Authorization"))
	}
	if h.Get("A2A-Version") != "" {
		t.Errorf("the card fetch sent A2A-Version %q", h.Get("A2A-Version"))
	}
}

func TestFetchCard10(t *testing.T) {
	t.Parallel()
	srv := serveCard(t, "/.well-known/agent-card.json", 200, card10)
	c, err := FetchCard(context.Background(), guarded(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "1.0" || c.Name != "Code reviewer" || len(c.Skills) != 1 || c.Skills[0].ID != "review" {
		t.Fatalf("card = %+v", c)
	}
	if srv.headers[0].Get("Authorization") != "" {
		t.Error("a credential was sent though none is set")
	}
}

// An agent built for an earlier draft serves only agent.json.
func TestFetchCardFallsBackToAgentJSON(t *testing.T) {
	t.Parallel()
	srv := serveCard(t, "/.well-known/agent.json", 200, card03)
	c, err := FetchCard(context.Background(), guarded(), srv.URL, "")
	if err != nil || c.Version != "0.3" {
		t.Fatalf("card = %+v, %v", c, err)
	}
	if strings.Join(srv.paths, " ") != "/.well-known/agent-card.json /.well-known/agent.json" {
		t.Fatalf("paths asked: %v", srv.paths)
	}
}

func TestFetchCardErrors(t *testing.T) {
	t.Parallel()
	const secret = "very-secret-credential-42"
	// A port nothing listens on: one we held and let go.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name, url, want string
		client          *http.Client
	}{
		{"no card", serveCard(t, "/elsewhere", 200, card03).URL, "publishes no card", nil},
		{"refused", serveCard(t, "/.well-known/agent-card.json", 401, `{"error":"no"}`).URL, "check the credential", nil},
		{"server error", serveCard(t, "/.well-known/agent-card.json", 500, `oops`).URL, "HTTP 500", nil},
		{"not json", serveCard(t, "/.well-known/agent-card.json", 200, `<html>hi</html>`).URL, "not a JSON object", nil},
		{"no name", serveCard(t, "/.well-known/agent-card.json", 200, `{"protocolVersion":"0.3.0","url":"http://x"}`).URL, "has no name", nil},
		{"unknown version", serveCard(t, "/.well-known/agent-card.json", 200, `{"name":"x","protocolVersion":"0.2.5","url":"http://x"}`).URL, `"0.2.5"`, nil},
		{"no interface spoken", serveCard(t, "/.well-known/agent-card.json", 200, `{"name":"x","supportedInterfaces":[{"url":"http://x","protocolVersion":"2.0"}]}`).URL, `"2.0"`, nil},
		{"too large", serveCard(t, "/.well-known/agent-card.json", 200, `{"name":"`+strings.Repeat("x", 2<<20)+`"}`).URL, "larger than", nil},
		{"dead port", dead, "could not be reached", nil},
		{"not a URL", "agents.example", "not an absolute", nil},
		{"metadata address", "http://169.254.169.254", "address not allowed", netguard.Policy{}.HTTPClient(5 * time.Second)},
	}
	for _, c := range cases {
		client := c.client
		if client == nil {
			client = guarded()
		}
		_, err := FetchCard(context.Background(), client, c.url, secret)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error holds the credential: %v", c.name, err)
		}
	}
	_, err = FetchCard(context.Background(), netguard.Policy{}.HTTPClient(5*time.Second), "http://169.254.169.254", "")
	if !errors.Is(err, netguard.ErrRefused) {
		t.Errorf("a refused address does not say so: %v", err)
	}
}

// A card that takes too long ends with the caller's context.
func TestFetchCardHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := FetchCard(ctx, guarded(), srv.URL, ""); err == nil {
		t.Fatal("no error from a silent agent")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}
