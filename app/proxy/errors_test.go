package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// recordingObserver keeps what the proxy reported about upstream calls.
type recordingObserver struct {
	mu    sync.Mutex
	calls []string
}

func (o *recordingObserver) ObserveUpstream(engine, route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, engine+" "+route+" "+http.StatusText(status))
}

func (o *recordingObserver) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.calls) == 0 {
		return ""
	}
	return o.calls[len(o.calls)-1]
}

func TestClosedPortIs502(t *testing.T) {
	t.Parallel()
	base := strings.Replace(closedPort(t), "http://", "http://user:url-secret@", 1)
	obs := &recordingObserver{}
	gw := startGateway(t, Config{Observer: obs}, teamOf(attach.Engine{
		Name: "gpu", Dialect: attach.DialectOllama, BaseURL: base, APIKey: "key-secret", Default: true,
	}))
	msg := wantError(t, post(t, gw+"/api/chat", `{"model":"x"}`), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
	if !strings.Contains(msg, "gpu") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "secret") {
		t.Errorf("message %q must name the engine, not its address or secrets", msg)
	}
	if got := obs.last(); got != "gpu /api/chat Bad Gateway" {
		t.Errorf("observer saw %q", got)
	}
}

func TestSlowEngineIs504(t *testing.T) {
	t.Parallel()
	released := make(chan struct{})
	var hits atomic.Int32
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-released:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(released) })
	obs := &recordingObserver{}
	gw := startGateway(t, Config{ResponseHeaderTimeout: 50 * time.Millisecond, Observer: obs},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	msg := wantError(t, post(t, gw+"/api/chat", `{"model":"x"}`), http.StatusGatewayTimeout, attach.CodeUpstreamTimeout)
	if !strings.Contains(msg, "gpu") {
		t.Errorf("message %q must name the engine", msg)
	}
	// GET is idempotent: a timeout must not be retried either.
	wantError(t, get(t, gw+"/api/version"), http.StatusGatewayTimeout, attach.CodeUpstreamTimeout)
	if got := obs.last(); got != "gpu /api/version Gateway Timeout" {
		t.Errorf("observer saw %q", got)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("engine saw %d requests, want 2 (no retries after a timeout)", n)
	}
}

func TestBodyTooLargeIs413(t *testing.T) {
	t.Parallel()
	engine, seen := recordingEngine(t, nil)
	gw := startGateway(t, Config{MaxBodyBytes: 64},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	big := `{"model":"x","prompt":"` + strings.Repeat("a", 100) + `"}`
	wantError(t, post(t, gw+"/api/generate", big), http.StatusRequestEntityTooLarge, attach.CodeTooLarge)
	if len(seen) != 0 {
		t.Fatal("the engine saw a body over the limit")
	}
	resp := post(t, gw+"/api/generate", `{"model":"x"}`)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("a body under the limit: status %d, %s", resp.StatusCode, body)
	}
}

func TestCompressedBodyRefused(t *testing.T) {
	t.Parallel()
	engine, _ := recordingEngine(t, nil)
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	req, _ := http.NewRequest(http.MethodPost, gw+"/api/chat", strings.NewReader("\x1f\x8b..."))
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	wantError(t, resp, http.StatusUnsupportedMediaType, attach.CodeUnsupportedEncoding)
}

func TestEngineErrorsPassThrough(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"model 'nope' not found"}`)
	}))
	obs := &recordingObserver{}
	gw := startGateway(t, Config{Observer: obs}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	resp := post(t, gw+"/api/chat", `{"model":"nope"}`)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusNotFound || body != `{"error":"model 'nope' not found"}` {
		t.Fatalf("got %d %s, want the engine's own 404", resp.StatusCode, body)
	}
	if got := obs.last(); got != "gpu /api/chat Not Found" {
		t.Errorf("observer saw %q", got)
	}
}

func TestWriteErrorShape(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, teamOf())
	msg := wantError(t, post(t, gw+"/api/chat", `{"model":"x"}`), http.StatusNotFound, attach.CodeNoEngine)
	if !strings.Contains(msg, "acme") {
		t.Errorf("message %q should name the team", msg)
	}
	wantError(t, get(t, gw+"/api/tags"), http.StatusNotFound, attach.CodeNoEngine)
}

// A refused engine address is refused before connecting: the engine's
// listener never completes a handshake with the gateway.
func TestGuardRefusesEngineAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	gw := startGateway(t, Config{Guard: &netguard.Policy{AllowPrivate: false}},
		teamOf(attach.Engine{Name: "inside", Dialect: attach.DialectOllama, BaseURL: "http://" + ln.Addr().String(), Default: true}))
	msg := wantError(t, post(t, gw+"/api/chat", `{"model":"m","messages":[]}`), http.StatusBadGateway, ReasonEngineAddressRefused)
	if strings.Contains(msg, "127.0.0.1") {
		t.Errorf("message %q names the engine's address", msg)
	}
	if !strings.Contains(msg, "ATTACH_ALLOW_PRIVATE_NETWORKS") {
		t.Errorf("message %q does not name the setting that decides", msg)
	}
	// Connections are accepted in the order they were made: when ours is
	// the first, the gateway made none.
	mine, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	first := <-accepted
	defer first.Close()
	if first.RemoteAddr().String() != mine.LocalAddr().String() {
		t.Fatalf("the gateway connected to a refused engine (from %s) before refusing it", first.RemoteAddr())
	}
}

// An engine at an IPv6 address is reached.
func TestEngineAtIPv6Address(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	engine := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"message":{"role":"assistant","content":"hi"},"done":true}`)
	}))
	engine.Listener.Close()
	engine.Listener = ln
	engine.Start()
	t.Cleanup(engine.Close)
	gw := startGateway(t, Config{Guard: &netguard.Policy{AllowPrivate: true}},
		teamOf(attach.Engine{Name: "v6", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	resp := post(t, gw+"/api/chat", `{"model":"m","messages":[]}`)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"hi"`) {
		t.Fatalf("engine at %s: %d %s", engine.URL, resp.StatusCode, body)
	}
}
