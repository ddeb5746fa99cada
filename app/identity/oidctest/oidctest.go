// Package oidctest runs a real OpenID Connect provider (the npm package
// oidc-provider, see provider.mjs) on 127.0.0.1 for tests.
//
// Start launches it with keys generated in Go (RSA 2048, EC P-256, Ed25519),
// so tests can both get genuine tokens from it and craft tokens of their own
// with its private keys:
//
//	idp := oidctest.Start(t, oidctest.Options{})
//	tok := idp.Token(t, "api://team-a", "chat")            // RS256, typ at+jwt
//	es := idp.TokenAlg(t, "ES256", "api://team-a")          // ES256
//	bad := idp.Sign(t, "RS256", map[string]any{"iss": idp.Issuer(), ...})
//
// Machine clients (client_credentials) are named gateway-rs256, gateway-ps256,
// gateway-es256 and gateway-eddsa; their access tokens carry sub = client id
// and aud = the requested resource. The "console" client signs users in with
// the authorization code flow through the provider's development login page,
// where any login and password is accepted and the login becomes the subject;
// the ID token carries sub, email ("LOGIN@example.test"), email_verified
// (false only for a login starting "unverified-"), name ("Test User
// LOGIN") and groups (["staff"], plus "gateway-ops" for a login starting
// "ops-"). LoginClient gives its credentials. The gateway-exchange
// client has the token-exchange grant (RFC 8693): it exchanges an
// OutsideIssuer JWT (SignOutside) or an opaque token of the provider
// (OpaqueToken) for a JWT of the provider; see ExchangeClient.
//
// node must be on PATH and the npm packages installed (`make deps`, which runs
// `npm ci --prefix app/identity/oidctest`).
package oidctest

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// stopTimeout is how long node has to exit on SIGTERM before it is killed.
const stopTimeout = 5 * time.Second

// Options change how the provider runs. The zero value is ready to use.
type Options struct {
	// RedirectURIs of the "console" client; default http://127.0.0.1/callback.
	RedirectURIs []string
	// PostLogoutRedirectURIs of the "console" client: where the provider's
	// end_session_endpoint (RP-initiated logout) may send the browser
	// back to; default none.
	PostLogoutRedirectURIs []string
	// TokenTTL is the lifetime of access tokens; default 10 minutes.
	TokenTTL time.Duration
	// TrailingSlash makes the issuer http://127.0.0.1:PORT/, as some
	// providers write theirs.
	TrailingSlash bool
}

// Provider is a running oidc-provider. Its methods may be called from several
// goroutines.
type Provider struct {
	dir      string // holds the key file
	port     int
	issuer   string
	secret   string
	opts     Options
	client   *http.Client
	mu       sync.Mutex
	gens     []keyGeneration // current first, then older ones still published
	outside  outsideKey      // the outside issuer's, for the token-exchange grant
	proc     *testkit.Process
	stopOnce sync.Once
}

// Start runs a provider on a free loopback port and stops it when the test
// ends. It fails the test when node or the npm packages are missing.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("oidctest: node is not installed; run `make deps`")
	}
	if _, err := os.Stat(filepath.Join(sourceDir(), "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatal("oidctest: the oidc-provider npm package is not installed; run `make deps`")
	}
	gen, err := newKeyGeneration()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	outside, err := newOutsideKey()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	p := &Provider{
		dir:     t.TempDir(),
		port:    port,
		issuer:  "http://127.0.0.1:" + strconv.Itoa(port),
		secret:  randomHex(24),
		opts:    opts,
		client:  &http.Client{Timeout: 10 * time.Second},
		gens:    []keyGeneration{gen},
		outside: outside,
	}
	if opts.TrailingSlash {
		p.issuer += "/"
	}
	t.Cleanup(p.Stop)
	if err := p.launch(); err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	return p
}

// Issuer is the provider's issuer URL, http://127.0.0.1:PORT, with a
// trailing slash only under Options.TrailingSlash.
func (p *Provider) Issuer() string { return p.issuer }

// base is the provider's root URL, without a trailing slash.
func (p *Provider) base() string { return strings.TrimSuffix(p.issuer, "/") }

// LoginClient is the client id and secret of the authorization code client.
func (p *Provider) LoginClient() (id, secret string) { return "console", p.secret }

// Token returns an RS256 access token (a JWT, typ at+jwt) from the
// client_credentials grant, for audience and with scopes.
func (p *Provider) Token(t testing.TB, audience string, scopes ...string) string {
	t.Helper()
	return p.TokenAlg(t, "RS256", audience, scopes...)
}

// TokenAlg is Token signed with alg: RS256, PS256, ES256 or EdDSA.
func (p *Provider) TokenAlg(t testing.TB, alg, audience string, scopes ...string) string {
	t.Helper()
	clientID := "gateway-" + strings.ToLower(alg)
	switch alg {
	case "RS256", "PS256", "ES256", "EdDSA":
	default:
		t.Fatalf("oidctest: the provider does not issue %s tokens", alg)
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {p.secret},
		"resource":      {audience},
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	resp, err := p.client.PostForm(p.base()+"/token", form)
	if err != nil {
		t.Fatalf("oidctest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("oidctest: token request: status %d: %s", resp.StatusCode, body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		t.Fatalf("oidctest: token response without access_token: %s", body)
	}
	return out.AccessToken
}

// PublicJWKS fetches the key set the provider publishes.
func (p *Provider) PublicJWKS(t testing.TB) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	p.getJSON(t, "/jwks", &set)
	return set
}

// Hits says how many requests path (e.g. "/jwks") has received since the
// provider last (re)started, not counting the helper's own readiness probes.
func (p *Provider) Hits(t testing.TB, path string) int {
	t.Helper()
	var hits map[string]int
	p.getJSON(t, "/__test/hits", &hits)
	return hits[path]
}

// PrivateKey is the current signing key for alg (RS*, PS*, ES256, EdDSA), for
// crafting tokens the provider would never issue. Nil for other algorithms.
func (p *Provider) PrivateKey(alg string) crypto.Signer {
	k, ok := p.current().forAlg(alg)
	if !ok {
		return nil
	}
	return k.key
}

// KeyID is the kid the provider publishes for PrivateKey(alg).
func (p *Provider) KeyID(alg string) string {
	k, _ := p.current().forAlg(alg)
	return k.kid
}

// Sign makes a compact JWS of claims with the current key for alg, with the
// key's kid and typ JWT in the header.
func (p *Provider) Sign(t testing.TB, alg string, claims any) string {
	t.Helper()
	key := p.PrivateKey(alg)
	if key == nil {
		t.Fatalf("oidctest: no key for %s", alg)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key, KeyID: p.KeyID(alg)}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		t.Fatalf("oidctest: signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("oidctest: claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("oidctest: sign: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("oidctest: serialize: %v", err)
	}
	return out
}

// RotateKeys makes new signing keys and restarts the provider on the same
// port with them. The previous keys stay published, as an IdP does during a
// rotation, so tokens already issued still verify.
func (p *Provider) RotateKeys(t testing.TB) {
	t.Helper()
	p.rotate(t, true)
}

// ReplaceKeys is RotateKeys without keeping the previous keys: tokens signed
// with them no longer verify against the published set.
func (p *Provider) ReplaceKeys(t testing.TB) {
	t.Helper()
	p.rotate(t, false)
}

func (p *Provider) rotate(t testing.TB, keepOld bool) {
	t.Helper()
	gen, err := newKeyGeneration()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	p.mu.Lock()
	proc := p.proc
	if keepOld {
		p.gens = append([]keyGeneration{gen}, p.gens...)
	} else {
		p.gens = []keyGeneration{gen}
	}
	p.mu.Unlock()
	_ = proc.Stop(stopTimeout)
	if err := p.launch(); err != nil {
		t.Fatalf("oidctest: restart with new keys: %v", err)
	}
}

// Stop ends the provider. It is safe to call more than once; Start arranges
// for it to run when the test ends.
func (p *Provider) Stop() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		proc := p.proc
		p.mu.Unlock()
		_ = proc.Stop(stopTimeout)
	})
}

func (p *Provider) current() keyGeneration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gens[0]
}

// launch writes the key file and starts node, waiting until discovery answers.
func (p *Provider) launch() error {
	p.mu.Lock()
	keys, err := privateJWKS(p.gens)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(p.dir, "jwks.json")
	if err := os.WriteFile(keyFile, keys, 0o600); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	outsideFile, err := p.writeOutsideJWKS()
	if err != nil {
		return err
	}
	redirects := p.opts.RedirectURIs
	if len(redirects) == 0 {
		redirects = []string{"http://127.0.0.1/callback"}
	}
	ttl := p.opts.TokenTTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	cmd := exec.Command("node", filepath.Join(sourceDir(), "provider.mjs"))
	cmd.Dir = sourceDir()
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(p.port),
		"ISSUER="+p.issuer,
		"JWKS_FILE="+keyFile,
		"CLIENT_SECRET="+p.secret,
		"REDIRECT_URIS="+strings.Join(redirects, ","),
		"POST_LOGOUT_REDIRECT_URIS="+strings.Join(p.opts.PostLogoutRedirectURIs, ","),
		"TOKEN_TTL="+strconv.Itoa(int(ttl/time.Second)),
		"OUTSIDE_ISSUER="+OutsideIssuer,
		"OUTSIDE_JWKS_FILE="+outsideFile,
		"NODE_ENV=test",
	)
	// The provider must not outlive the test binary, even if it crashes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	proc, err := testkit.Start("node", cmd, 0)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	if err := p.waitReady(proc); err != nil {
		_ = proc.Stop(stopTimeout)
		return err
	}
	return nil
}

// waitReady polls discovery until it answers, the process exits, or 30 s pass.
func (p *Provider) waitReady(proc *testkit.Process) error {
	deadline := time.Now().Add(30 * time.Second)
	discovery := p.base() + "/.well-known/openid-configuration"
	for {
		req, _ := http.NewRequest(http.MethodGet, discovery, nil)
		req.Header.Set("X-Oidctest-Probe", "1") // not counted by Hits
		resp, err := p.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("oidc-provider exited before it was ready: %v\n%s", proc.Err(), proc.Output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("oidc-provider not ready after 30s\n%s", proc.Output())
		}
	}
}

func (p *Provider) getJSON(t testing.TB, path string, out any) {
	t.Helper()
	resp, err := p.client.Get(p.base() + path)
	if err != nil {
		t.Fatalf("oidctest: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("oidctest: GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("oidctest: GET %s: %v", path, err)
	}
}

// sourceDir is the folder of this file, where provider.mjs and node_modules live.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
