package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

var testIdentity = Identity{User: "alice", Session: "sess-1", Tenant: "team-1"}

// startGateway serves p on a real loopback listener the way the server
// does: every request of the team goes to Serve with its path.
func startGateway(t *testing.T, cfg Config, team *tenants.Snapshot) string {
	t.Helper()
	url, _ := serveGateway(t, cfg, team)
	return url
}

// serveGateway is startGateway that also returns stop, which shuts the
// gateway down and returns once every request it took has finished,
// streams included: after it, the proxy does nothing more. The test's
// cleanup calls it too; a second call does nothing.
func serveGateway(t *testing.T, cfg Config, team *tenants.Snapshot) (url string, stop func() error) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := New(cfg)
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: web.WriteError})
	app.Use(func(c *fiber.Ctx) error {
		return p.Serve(c, team, c.Path(), testIdentity)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	go func() { _ = app.Listener(ln) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			stopErr = app.ShutdownWithTimeout(5 * time.Second)
			p.Close()
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// startEngine serves h as an engine on loopback. The release function
// registered first runs last, so handlers that block on a test's channel
// are let go before the server waits for them.
func startEngine(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func teamOf(engines ...attach.Engine) *tenants.Snapshot {
	return tenants.NewSnapshot(attach.Team{ID: "team-1", Slug: "acme", Name: "Acme"}, nil, engines, nil, nil, 1)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// wantError checks a gateway error answer and returns its message.
func wantError(t *testing.T, resp *http.Response, status int, code string) string {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if e.Error.Code != code {
		t.Fatalf("error code = %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		t.Errorf("error %q has no message", code)
	}
	return e.Error.Message
}
