package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engine is a real HTTP server on loopback that answers like Ollama and
// records what reached it, so tests can check what the gateway forwarded.
type engine struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu   sync.Mutex
	last *http.Request
	body []byte

	// release, when set, holds a stream after its first chunk until closed.
	release chan struct{}
	// answerHeaders, when set, are added to every answer, names spelled
	// exactly as given.
	answerHeaders http.Header
	// counts, when set, is added to every chat's last object, e.g.
	// `"prompt_eval_count":40,"eval_count":60`: the tokens it reports.
	counts string
}

func newEngine(t *testing.T) *engine {
	e := &engine{}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *engine) URL() string { return e.srv.URL }

func (e *engine) lastRequest() (*http.Request, []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last, e.body
}

func (e *engine) serve(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.last, e.body = r.Clone(context.Background()), body
	release := e.release
	done := `"done":true`
	if e.counts != "" {
		done += "," + e.counts
	}
	for k, v := range e.answerHeaders {
		w.Header()[k] = v
	}
	e.mu.Unlock()

	switch r.URL.Path {
	case "/api/tags":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"models":[{"name":"tiny:latest","model":"tiny:latest","modified_at":"2026-11-01T00:00:00Z","size":1,"digest":"abc","details":{}}]}`)
	case "/api/chat":
		var req struct {
			Model  string `json:"model"`
			Stream *bool  `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		if req.Stream != nil && !*req.Stream {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			io.WriteString(w, `{"model":"`+req.Model+`","created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":"Hello!"},`+done+`}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		f := w.(http.Flusher)
		for i, word := range []string{"Hel", "lo", "!"} {
			io.WriteString(w, `{"model":"`+req.Model+`","message":{"role":"assistant","content":"`+word+`"},"done":false}`+"\n")
			f.Flush()
			if i == 0 && release != nil {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
		}
		io.WriteString(w, `{"model":"`+req.Model+`","message":{"role":"assistant","content":""},`+done+`}`+"\n")
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

// gateway is an App serving on a loopback port.
type gateway struct {
	*App
	URL string
}

// testConfig is a configuration on a fresh database of the shared test cluster.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = pgtest.NewDSN(t)
	cfg.DataDir = t.TempDir() // the memory journal, not in the checkout
	cfg.SecretKey = make([]byte, 32)
	rand.Read(cfg.SecretKey)
	cfg.AdminToken = "test-admin-token-0123456789"
	cfg.JWKSMinRefresh = 200 * time.Millisecond
	cfg.UpstreamTimeout = 5 * time.Second
	cfg.KeyUsageInterval = 50 * time.Millisecond
	return cfg
}

func startGateway(t testing.TB, cfg Config) *gateway {
	t.Helper()
	return startGatewayOn(t, cfg, listenLoopback(t))
}

// testLogger discards the gateway's logs unless the tests run with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

func startGatewayWithLog(t testing.TB, cfg Config, log *slog.Logger) *gateway {
	t.Helper()
	return startGatewayOnWithLog(t, cfg, listenLoopback(t), log)
}

// startGatewayOn is startGateway on a listener the test opened itself, for
// when the gateway's address must be known before it starts (an OIDC
// provider has to be told the console's redirect URI first).
func startGatewayOn(t testing.TB, cfg Config, ln net.Listener) *gateway {
	t.Helper()
	return startGatewayOnWithLog(t, cfg, ln, testLogger())
}

func startGatewayOnWithLog(t testing.TB, cfg Config, ln net.Listener, log *slog.Logger) *gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The default public URL names port 8080; the test's is the listener's.
	if cfg.PublicURL == "" || cfg.PublicURL == "http://localhost:8080" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		ln.Close()
		t.Fatalf("start gateway: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	})
	return &gateway{App: a, URL: "http://" + ln.Addr().String()}
}

// listenLoopback opens a listener on a free loopback port.
func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// sidecar starts a real OIDC provider, an engine and a gateway in side-car
// mode trusting that provider for audience "api://default".
func sidecar(t *testing.T) (*gateway, *oidctest.Provider, *engine) {
	t.Helper()
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer = idp.Issuer()
	cfg.OIDCAudience = "api://default"
	cfg.EngineURL = eng.URL()
	return startGateway(t, cfg), idp, eng
}

// call sends a request and returns the response with its body read.
func call(t *testing.T, method, url, token, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, string(b)
}

// errorCode extracts error.code from a JSON error body.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a JSON error: %q", body)
	}
	if e.Error.Message == "" {
		t.Fatalf("JSON error without a message: %q", body)
	}
	return e.Error.Code
}

// readLine reads one NDJSON line of a stream.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return line
}

const chatBody = `{"model":"tiny","messages":[{"role":"user","content":"hello"}],"stream":false}`

func startIDPAndEngine(t *testing.T) (*oidctest.Provider, *engine) {
	t.Helper()
	return oidctest.Start(t, oidctest.Options{}), newEngine(t)
}

func teamInput(slug string) tenants.TeamInput { return tenants.TeamInput{Slug: slug, Name: slug} }

// benchGateway is a side-car gateway for benchmarks, logging at warn so the
// figures are the request path's, not the log writer's.
func benchGateway(b *testing.B, engineURL, memBackend string) (*gateway, *oidctest.Provider) {
	return benchGatewayWith(b, engineURL, memBackend, nil)
}

// benchGatewayWith is benchGateway with the configuration changed by set.
func benchGatewayWith(b *testing.B, engineURL, memBackend string, set func(*Config)) (*gateway, *oidctest.Provider) {
	idp := oidctest.Start(b, oidctest.Options{})
	cfg := testConfig(b)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", engineURL
	cfg.MemBackend = memBackend
	if set != nil {
		set(&cfg)
	}
	return startGateway(b, cfg), idp
}
