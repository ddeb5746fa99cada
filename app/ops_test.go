package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	if resp, body := call(t, "GET", gw.URL+"/healthz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", gw.URL+"/readyz", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
	call(t, "POST", gw.URL+"/api/chat", "junk", chatBody)
	call(t, "POST", gw.URL+"/api/chat", idp.Token(t, "api://default"), chatBody)
	resp, body := call(t, "GET", gw.URL+"/metrics", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics %d", resp.StatusCode)
	}
	for _, want := range []string{
		`attach_auth_failures_total{reason="malformed"} 1`,
		`attach_http_requests_total{method="POST",route="/api/chat",status="200"} 1`,
		`attach_http_requests_total{method="POST",route="/api/chat",status="401"} 1`,
		`attach_http_request_duration_seconds_bucket{route="/api/chat"`,
		`attach_upstream_duration_seconds_bucket{route="/api/chat",status="200"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, grepLines(body, "attach_http_requests_total"))
		}
	}
}

func TestErrorsAreJSON(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxBodyBytes = 1 << 10
	idpless := newEngine(t)
	cfg.EngineURL = idpless.URL()
	gw := startGateway(t, cfg)
	admin := adminClient(t, gw)
	key := admin.post("/teams/default/keys", `{"name":"k"}`, 201)["key"].(string)
	waitFor(t, "key", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})

	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/nowhere", "", 404, "not_found"},
		{"POST", "/t/no-such-team/api/chat", chatBody, 404, "unknown_team"},
		{"POST", "/api/chat", `{"model":"tiny","prompt":"` + strings.Repeat("x", 2<<10) + `"}`, 413, "body_too_large"},
		{"POST", "/api/chat", `{"model":`, 400, "invalid_json"},
	}
	for _, tc := range cases {
		resp, body := call(t, tc.method, gw.URL+tc.path, key, tc.body)
		if resp.StatusCode != tc.status || errorCode(t, body) != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, ct)
		}
	}

	// An engine that is down: 502, naming the engine but not its address.
	idpless.srv.Close()
	resp, body := call(t, "POST", gw.URL+"/api/chat", key, chatBody)
	if resp.StatusCode != 502 || errorCode(t, body) != "upstream_unavailable" {
		t.Fatalf("engine down: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, strings.TrimPrefix(idpless.URL(), "http://")) {
		t.Errorf("engine address leaked: %s", body)
	}
}

func TestShutdownLetsStreamsFinish(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()

	eng.release = make(chan struct{})
	r := startHeldStream(t, ln, idp)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- a.Shutdown(ctx)
	}()
	// New connections are refused while the stream goes on.
	waitFor(t, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(eng.release)
	rest, err := io.ReadAll(r)
	if err != nil || !strings.Contains(string(rest), `"done":true`) {
		t.Fatalf("stream cut by shutdown: %v %q", err, rest)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	<-served
}

// An engine that never finishes its stream does not take the whole grace:
// Shutdown leaves it behind in time to close everything else, says so, and
// returns before its context ends.
func TestShutdownLeavesAHungEngineBehind(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	var logs testkit.Buffer
	a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = a.Serve(ln) }()

	eng.release = make(chan struct{}) // the engine hangs until the test ends
	t.Cleanup(func() { close(eng.release) })
	startHeldStream(t, ln, idp)

	const grace = 4 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err = a.Shutdown(ctx)
	if err == nil {
		t.Fatal("Shutdown says every request finished, with a stream still hanging")
	}
	if late := time.Since(deadline); late > 0 {
		t.Errorf("Shutdown returned %v after its context ended", late)
	}
	if !strings.Contains(logs.String(), "requests still running are left unfinished") {
		t.Errorf("the log does not say a request was left behind:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "not stored") {
		t.Errorf("events lost at shutdown:\n%s", logs.String())
	}
}

func TestEmbeddedDefaultKeepsItsSecrets(t *testing.T) {
	t.Parallel()
	dir := embeddedDir(t)

	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"ATTACH_DATA_DIR": filepath.Join(dir, "data")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*App, []byte, string) {
		a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("embedded start: %v", err)
		}
		return a, a.cfg.SecretKey, a.cfg.AdminToken
	}
	a, key1, admin1 := start()
	ctx := context.Background()
	if _, err := a.store.CreateTeam(ctx, teamInput("kept")); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)
	if st, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v %v", st, err)
	}

	a, key2, admin2 := start()
	defer a.Close(ctx)
	if string(key1) != string(key2) || admin1 != admin2 || len(key1) != 32 {
		t.Fatal("secrets not reused across restarts")
	}
	if _, err := a.store.GetTeam(ctx, "kept"); err != nil {
		t.Fatalf("data lost across restart: %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestLandingPageAndAssets(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	resp, body := call(t, "GET", gw.URL+"/", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "<h1>Attach Gateway</h1>") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = call(t, "GET", gw.URL+"/static/style.css", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "prefers-color-scheme") {
		t.Fatalf("GET /static/style.css: %d", resp.StatusCode)
	}
	resp, body = call(t, "GET", gw.URL+"/static/nope.js", "", "")
	if resp.StatusCode != 404 || errorCode(t, body) != "not_found" {
		t.Fatalf("missing asset: %d %s", resp.StatusCode, body)
	}
}

// TestSecretsStayOutOfLogs drives the paths that log (requests, refused
// tokens, a failing engine) at debug level and looks for every secret in
// the output.
func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	cfg.EngineAPIKey = "sk-engine-secret-0123456789"
	var logs testkit.Buffer
	gw := startGatewayWithLog(t, cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	jwt := idp.Token(t, "api://default")
	key := adminClient(t, gw).post("/teams/default/keys", `{"name":"k"}`, 201)["key"].(string)
	waitFor(t, "key", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})
	call(t, "POST", gw.URL+"/api/chat", jwt, chatBody)
	call(t, "POST", gw.URL+"/api/chat?token="+jwt, jwt[:len(jwt)-5], chatBody)
	call(t, "GET", gw.URL+"/admin/v1/teams", "wrong-"+cfg.AdminToken, "")
	// Console secrets: an invite link's token travels in the path; the
	// setup link's in the query.
	inviteToken := "inv-" + strings.Repeat("q", 40)
	call(t, "GET", gw.URL+"/console/invite/"+inviteToken, "", "")
	link, err := gw.SetupLink(t.Context())
	if err != nil || link == "" {
		t.Fatalf("setup link %q: %v", link, err)
	}
	setupToken := link[strings.Index(link, "token=")+len("token="):]
	call(t, "GET", link, "", "")
	eng.srv.Close()
	call(t, "POST", gw.URL+"/api/chat", key, chatBody)

	out := logs.String()
	if !strings.Contains(out, `"msg":"request"`) {
		t.Fatal("no access log lines captured")
	}
	for name, secret := range map[string]string{
		"gateway API key": key, "JWT": jwt, "JWT signature": jwt[strings.LastIndex(jwt, ".")+1:],
		"engine key": cfg.EngineAPIKey, "admin token": cfg.AdminToken,
		"invite token": inviteToken, "setup token": setupToken,
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}

// embeddedDir is a folder for an embedded default's data. It must be
// reachable by the postgres OS user when the tests run as root, so it
// lives under a world-traversable temp folder rather than t.TempDir.
func embeddedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "attach-embedded-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startHeldStream starts a chat through the gateway on ln and returns its
// answer once the first line has arrived: the stream is in flight, for as
// long as the engine holds it.
func startHeldStream(t *testing.T, ln net.Listener, idp *oidctest.Provider) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/chat", strings.NewReader(`{"model":"tiny"}`))
	req.Header.Set("Authorization", "Bearer "+idp.Token(t, "api://default"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	readLine(t, r)
	return r
}
