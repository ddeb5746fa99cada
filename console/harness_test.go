package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is a console served by a real Fiber app on loopback, over a real
// store on a fresh Postgres database.
type env struct {
	t       testing.TB
	store   *tenants.Store
	console *Console
	minter  *testMinter
	prober  *testProber
	logs    *testkit.Buffer
	URL     string // the console's server, also its PublicURL
	app     *fiber.App
}

type envOptions struct {
	oidc      func(publicURL string) OIDCConfig // SSO provider, started once the URL is known
	publicURL string                            // override the PublicURL (e.g. https)
	pool      *pgxpool.Pool                     // the database, when the test needs it too
	memory    MemoryStore                       // the team's memory, for the memory pages
	tasks     TaskReader                        // the team's A2A tasks, for the tasks pages
	backends  []string                          // memory backends a team may choose
	recorder  Recorder                          // the gateway's recorder, for the memory page
	creators  TeamCreators                      // who may create teams; zero: everyone
	usage     UsageReader                       // the usage ledger, for the Usage and Keys pages
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	sealer, err := tenants.NewSealer(bytes.Repeat([]byte{7}, tenants.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if o.pool == nil {
		o.pool = pgtest.New(t)
	}
	e := &env{t: t, store: tenants.NewStore(o.pool, sealer), logs: &testkit.Buffer{}}
	e.minter = &testMinter{tokens: map[string]mintedFor{}}
	e.prober = &testProber{}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.URL = "http://" + ln.Addr().String()
	cfg := Config{PublicURL: e.URL, CookieKey: bytes.Repeat([]byte{9}, 32), TeamCreators: o.creators}
	if o.publicURL != "" {
		cfg.PublicURL = o.publicURL
		cfg.GatewayURL = e.URL
	}
	if o.oidc != nil {
		cfg.OIDC = o.oidc(e.URL)
	}
	e.console, err = New(cfg, Deps{
		Store:  e.store,
		Prober: e.prober,
		Cards:  testCards{},
		Minter: e.minter,
		Memory: o.memory,
		Tasks:  o.tasks,
		// Memory backends a team may choose.
		MemoryBackends: o.backends,
		Recorder:       o.recorder,
		Usage:          o.usage,
		Logger:         slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}

	e.app = fiber.New(fiber.Config{DisableStartupMessage: true})
	assets := filesystem.Config{Root: http.FS(web.Static())}
	e.app.Use("/static", filesystem.New(assets))
	e.console.Mount(e.app.Group(Base))
	// The engine route the gateway serves, as far as the console's "Try it"
	// needs it: a minted token in, an Ollama answer and a session id out.
	e.app.Post("/t/:team/api/chat", e.minter.gateway)
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { _ = e.app.Shutdown() })
	return e
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// user makes a user without a password (as SSO would), which is quick: no
// password hashing.
func (e *env) user(name string) tenants.User {
	e.t.Helper()
	u, err := e.store.UpsertOIDCUser(testCtx(e.t), "https://idp.test", name, name+"@example.test", "User "+name, true)
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// team makes a team owned by owner.
func (e *env) team(slug string, owner tenants.User) attach.Team {
	e.t.Helper()
	t, err := e.store.CreateTeamWithOwner(testCtx(e.t), tenants.TeamInput{Slug: slug, Name: "Team " + slug}, owner.ID)
	if err != nil {
		e.t.Fatalf("create team %s: %v", slug, err)
	}
	return t
}

// fullTeam is a team with one of each thing a team holds.
type fullTeam struct {
	team        attach.Team
	engine      attach.Engine
	issuer      attach.Issuer
	key         attach.APIKey
	invite      tenants.Invite
	inviteToken string
}

// teamWithOneOfEach makes team slug of owner, with member as a member, and
// one engine, issuer, API key and invite (to inviteEmail) in it, for tests
// that try every action on a team's things.
func (e *env) teamWithOneOfEach(slug string, owner, member tenants.User, inviteEmail string) fullTeam {
	e.t.Helper()
	f := fullTeam{team: e.team(slug, owner)}
	e.member(f.team, member, tenants.RoleMember)
	ctx := testCtx(e.t)
	var err error
	if f.engine, err = e.store.CreateEngine(ctx, f.team.ID, tenants.EngineInput{Name: "eng", Dialect: "ollama", BaseURL: "http://127.0.0.1:1"}); err != nil {
		e.t.Fatal(err)
	}
	if f.issuer, err = e.store.CreateIssuer(ctx, f.team.ID, tenants.IssuerInput{URL: "https://idp.test", Audience: "api://" + slug}); err != nil {
		e.t.Fatal(err)
	}
	if f.key, _, err = e.store.CreateAPIKey(ctx, f.team.ID, tenants.APIKeyInput{Name: "k"}); err != nil {
		e.t.Fatal(err)
	}
	if f.invite, f.inviteToken, err = e.store.CreateInvite(ctx, f.team.ID, tenants.InviteInput{Email: inviteEmail, Role: tenants.RoleMember}); err != nil {
		e.t.Fatal(err)
	}
	return f
}

// member adds u to team with role.
func (e *env) member(team attach.Team, u tenants.User, role tenants.Role) {
	e.t.Helper()
	if err := e.store.AddMember(testCtx(e.t), team.ID, u.ID, role); err != nil {
		e.t.Fatalf("add member: %v", err)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string // the session's CSRF token once signed in
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, base: e.URL, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn is a browser with a fresh session of u, made in the store.
func (e *env) signedIn(u tenants.User) *browser {
	e.t.Helper()
	b := e.browser()
	token, s, err := e.store.CreateSession(testCtx(e.t), u.ID, tenants.SessionInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	base, _ := url.Parse(e.URL)
	b.c.Jar.SetCookies(base, []*http.Cookie{{Name: "attach_session", Value: token, Path: "/"}})
	b.csrf = s.CSRF
	return b
}

// page is an answer with its body read.
type page struct {
	*http.Response
	Body string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Response: resp, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form with the session's CSRF token, unless the form has a
// "csrf" of its own.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postJSON is a script's POST: CSRF in the header, JSON wanted back.
func (b *browser) postJSON(path, csrf string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return b.do(req)
}

// cookie returns the jar's cookie name for the console.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base + Base + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var csrfInputRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formCSRF reads the CSRF token a page's forms carry.
func formCSRF(t testing.TB, p page) string {
	t.Helper()
	m := csrfInputRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF field in page (status %d): %.400s", p.StatusCode, p.Body)
	}
	return m[1]
}

func wantStatus(t testing.TB, p page, status int) {
	t.Helper()
	if p.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %.600s", p.Request.Method, p.Request.URL.Path, p.StatusCode, status, p.Body)
	}
}

func wantRedirect(t testing.TB, p page, to string) {
	t.Helper()
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.Header.Get("Location"); loc != to {
		t.Fatalf("%s %s: redirect to %q, want %q", p.Request.Method, p.Request.URL.Path, loc, to)
	}
}

// follow loads the page a 303 answer sends the browser to.
func (b *browser) follow(p page) page {
	b.t.Helper()
	wantStatus(b.t, p, http.StatusSeeOther)
	return b.get(p.Header.Get("Location"))
}

func wantContains(t testing.TB, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%s %s: page lacks %q; body: %.2000s", p.Request.Method, p.Request.URL.Path, s, p.Body)
		}
	}
}

func wantLacks(t testing.TB, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(p.Body, s) {
			t.Fatalf("%s %s: page must not contain %q", p.Request.Method, p.Request.URL.Path, s)
		}
	}
}

// jsonErrorCode reads error.code of a JSON error body, failing the test if
// the body is not that shape.
func jsonErrorCode(t testing.TB, p page) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("not a JSON error (status %d): %.300s", p.StatusCode, p.Body)
	}
	return body.Error.Code
}

// testMinter issues random tokens and remembers whom for, so the stand-in
// gateway route can tell a minted token from anything else.
type testMinter struct {
	mu     sync.Mutex
	tokens map[string]mintedFor
	fail   bool
}

type mintedFor struct {
	team, user string
}

func (m *testMinter) MintToken(_ context.Context, team attach.Team, user tenants.User, _ string) (Minted, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return Minted{}, errors.New("signing key unavailable")
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "mint-" + hex.EncodeToString(b)
	m.tokens[tok] = mintedFor{team: team.Slug, user: user.ID}
	return Minted{Token: tok, ExpiresAt: time.Now().Add(5 * time.Minute), Subject: user.Email}, nil
}

// minted lists the tokens handed out so far.
func (m *testMinter) minted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for tok := range m.tokens {
		out = append(out, tok)
	}
	return out
}

func (m *testMinter) setFail(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
}

// gateway answers /t/:team/api/chat like the gateway in front of an Ollama
// engine: 401 without a token minted for that team.
func (m *testMinter) gateway(c *fiber.Ctx) error {
	tok := strings.TrimPrefix(c.Get("Authorization"), "Bearer ")
	m.mu.Lock()
	who, ok := m.tokens[tok]
	m.mu.Unlock()
	if !ok || who.team != c.Params("team") {
		return c.Status(http.StatusUnauthorized).JSON(fiber.Map{"error": fiber.Map{"code": "invalid_token", "message": "token not accepted"}})
	}
	var req struct {
		Model    string `json:"model"`
		Stream   *bool  `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil || len(req.Messages) == 0 {
		return c.Status(http.StatusBadRequest).JSON(fiber.Map{"error": "bad request"})
	}
	if req.Model == "missing" {
		return c.Status(http.StatusNotFound).JSON(fiber.Map{"error": "model 'missing' not found"})
	}
	c.Set("X-Attach-Session-Id", "sess-"+who.user[:8])
	reply := "echo: " + req.Messages[len(req.Messages)-1].Content
	if req.Stream == nil || *req.Stream {
		// Ollama streams by default: one JSON object a line.
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		for _, word := range strings.SplitAfter(reply, " ") {
			_ = enc.Encode(fiber.Map{"model": req.Model, "message": fiber.Map{"role": "assistant", "content": word}, "done": false})
		}
		_ = enc.Encode(fiber.Map{"model": req.Model, "message": fiber.Map{"role": "assistant", "content": ""}, "done": true})
		c.Set(fiber.HeaderContentType, "application/x-ndjson")
		return c.Send(out.Bytes())
	}
	return c.JSON(fiber.Map{
		"model":   req.Model,
		"message": fiber.Map{"role": "assistant", "content": reply},
		"done":    true,
	})
}

// testProber calls engines and issuers with plain HTTP. It refuses URLs on
// link-local addresses, as the install's network policy would.
type testProber struct{}

func (testProber) CheckURL(_ context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("not a URL")
	}
	if strings.HasPrefix(u.Hostname(), "169.254.") {
		return errors.New("link-local addresses are not allowed")
	}
	return nil
}

func (testProber) ProbeEngine(ctx context.Context, e attach.Engine) ([]string, time.Duration, error) {
	path := "/api/tags"
	if e.Dialect == attach.DialectOpenAI {
		path = "/v1/models"
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.BaseURL+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, errors.New("the engine did not answer")
	}
	defer resp.Body.Close()
	rtt := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return nil, rtt, fmt.Errorf("the engine answered %d", resp.StatusCode)
	}
	var tags struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tags); err != nil {
		return nil, rtt, errors.New("the engine's answer is not a model list")
	}
	var models []string
	for _, m := range tags.Models {
		models = append(models, m.Name)
	}
	return models, rtt, nil
}

// CheckIssuer accepts an issuer URL that differs from the discovery
// document's by a trailing slash and answers with the document's, as the
// gateway's prober does.
func (testProber) CheckIssuer(ctx context.Context, issuer string) (string, int, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return "", 0, fmt.Errorf("no discovery document: %w", err)
	}
	if disc.Issuer != "" && disc.Issuer != issuer {
		if strings.TrimSuffix(disc.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
			return "", 0, errors.New("the discovery document names another issuer")
		}
		issuer = disc.Issuer
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return "", 0, fmt.Errorf("no key set: %w", err)
	}
	if len(set.Keys) == 0 {
		return "", 0, errors.New("the key set is empty")
	}
	return issuer, len(set.Keys), nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return errors.New("unreachable")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
