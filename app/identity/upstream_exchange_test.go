package identity_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
	"github.com/attach-dev/attach-gateway/tenants"
)

const exchangeGatewayURL = "https://gw.test"

// exchangeTeam is team "a", trusting issuerURL for api://team-a and
// exchanging unknown tokens there with the client id and secret.
func exchangeTeam(issuerURL, clientID, secret string) *tenants.Snapshot {
	return snapshot("a", 1, []attach.Issuer{{URL: issuerURL, Audience: "api://team-a",
		Exchange: &attach.IssuerExchange{ClientID: clientID, ClientSecret: secret}}})
}

func exchangeVerifier(t *testing.T, logs *testkit.Buffer, cfg identity.Config) *identity.Verifier {
	t.Helper()
	cfg.PublicURL = exchangeGatewayURL
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return identity.NewVerifier(cfg)
}

func outsideToken(t *testing.T, idp *oidctest.Provider, sub string) string {
	t.Helper()
	return idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": sub, "exp": time.Now().Add(5 * time.Minute).Unix()})
}

// A JWT of an issuer the team does not trust and an opaque token are both
// exchanged at the team's exchange issuer (the real oidc-provider, whose
// token-exchange grant checks them), and the caller is the exchanged
// token's sub; the answer is kept, so the same token again costs the
// issuer nothing; a forged token is refused as exchange_refused; neither
// token nor secret reaches the log.
func TestUpstreamExchange(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{})
	id, secret := idp.ExchangeClient()
	team := exchangeTeam(idp.Issuer(), id, secret)
	logs := &testkit.Buffer{}
	clk := newClock()
	v := exchangeVerifier(t, logs, identity.Config{Now: clk.Now})
	ctx := context.Background()

	outside := idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	p, err := v.Verify(ctx, team, outside)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || p.Method != attach.MethodIdPExchange || p.Issuer != idp.Issuer() || p.TeamSlug != "a" || p.ExpiresAt.IsZero() {
		t.Fatalf("principal = %+v", p)
	}
	hits := idp.Hits(t, "/token")
	if hits != 1 {
		t.Fatalf("token endpoint hits = %d, want 1", hits)
	}
	for range 3 {
		if p2, err := v.Verify(ctx, team, outside); err != nil || p2.Subject != "alice" {
			t.Fatalf("again: %+v, %v", p2, err)
		}
	}
	// Kept until the exchanged token's exp (10 minutes), past the 5
	// minutes other verified tokens are kept.
	clk.Advance(6 * time.Minute)
	if p2, err := v.Verify(ctx, team, outside); err != nil || p2.Subject != "alice" {
		t.Fatalf("6 minutes on: %+v, %v", p2, err)
	}
	if got := idp.Hits(t, "/token"); got != hits {
		t.Fatalf("token endpoint hits after cached calls = %d, want %d", got, hits)
	}

	opaque := idp.OpaqueToken(t)
	hits = idp.Hits(t, "/token")
	p, err = v.Verify(ctx, team, opaque)
	if err != nil || p.Subject != "gateway-rs256" || p.Method != attach.MethodIdPExchange {
		t.Fatalf("opaque: %+v, %v", p, err)
	}
	if got := idp.Hits(t, "/token"); got != hits+1 {
		t.Fatalf("opaque exchange hits = %d, want %d", got, hits+1)
	}

	forged := idp.SignForged(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	_, err = v.Verify(ctx, team, forged)
	wantReason(t, err, identity.ReasonExchangeRefused, forged)
	_, err = v.Verify(ctx, team, "made-up-opaque-token-0123456789")
	wantReason(t, err, identity.ReasonExchangeRefused, "made-up-opaque-token-0123456789")

	// An outside token that ends before the exchanged one is kept only
	// until its own exp.
	short := idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "carol", "exp": clk.Now().Add(2 * time.Minute).Unix()})
	if p, err := v.Verify(ctx, team, short); err != nil || p.Subject != "carol" || p.ExpiresAt.Unix() != clk.Now().Add(2*time.Minute).Unix() {
		t.Fatalf("short-lived outside token: %+v, %v", p, err)
	}

	for _, s := range []string{outside[:40], opaque, forged[:40], secret} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("the log holds a token or the secret: %s", logs.String())
		}
	}
}

// Without an exchange issuer, tokens the team does not accept are refused
// as before, and nobody is asked; tokens of a trusted issuer that fail,
// and tokens for one of the team's resources, are never exchanged.
func TestUpstreamExchangeOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{})
	id, secret := idp.ExchangeClient()
	v := exchangeVerifier(t, &testkit.Buffer{}, identity.Config{})
	ctx := context.Background()
	plain := snapshot("a", 1, trust(idp.Issuer(), "api://team-a"))
	outside := outsideToken(t, idp, "alice")
	opaque := idp.OpaqueToken(t)
	hits := idp.Hits(t, "/token")

	_, err := v.Verify(ctx, plain, outside)
	wantReason(t, err, identity.ReasonUnknownIssuer, outside)
	_, err = v.Verify(ctx, plain, opaque)
	wantReason(t, err, identity.ReasonMalformed, opaque)

	team := exchangeTeam(idp.Issuer(), id, secret)
	expired := idp.Sign(t, "RS256", map[string]any{"iss": idp.Issuer(), "sub": "bob", "aud": "api://team-a", "exp": time.Now().Add(-time.Hour).Unix()})
	_, err = v.Verify(ctx, team, expired)
	wantReason(t, err, identity.ReasonExpired, expired)
	_, err = v.VerifyResource(ctx, team, outside, exchangeGatewayURL+"/t/a/mcp/files")
	wantReason(t, err, identity.ReasonUnknownIssuer, outside)

	if got := idp.Hits(t, "/token"); got != hits {
		t.Fatalf("token endpoint hits = %d, want %d", got, hits)
	}
}

// An exchange issuer that is down, hangs, answers too much or redirects
// is exchange_unavailable (a 401, as for an issuer whose keys cannot be
// fetched), and a redirect is not followed.
func TestUpstreamExchangeOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("provider down", func(t *testing.T) {
		t.Parallel()
		idp := oidctest.Start(t, oidctest.Options{})
		id, secret := idp.ExchangeClient()
		team := exchangeTeam(idp.Issuer(), id, secret)
		v := exchangeVerifier(t, &testkit.Buffer{}, identity.Config{})
		if _, err := v.Verify(ctx, team, outsideToken(t, idp, "alice")); err != nil {
			t.Fatal(err)
		}
		idp.Stop()
		tok := outsideToken(t, idp, "bob")
		_, err := v.Verify(ctx, team, tok)
		wantReason(t, err, identity.ReasonExchangeUnavailable, tok)
	})

	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	for name, token := range map[string]http.HandlerFunc{
		"hangs": func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client leave.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 70<<10) + `"}`))
		},
		"redirects": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
		},
		"fails": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			issuer := fakeExchangeIssuer(t, true, token)
			v := exchangeVerifier(t, &testkit.Buffer{}, identity.Config{ExchangeTimeout: 300 * time.Millisecond})
			_, err := v.Verify(ctx, exchangeTeam(issuer, "c", "s"), "opaque-token-of-someone-0123456789")
			wantReason(t, err, identity.ReasonExchangeUnavailable, "opaque-token-of-someone-0123456789")
		})
	}
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// An issuer whose discovery document does not list the token-exchange
// grant is refused when it is checked, and its tokens are not sent to it.
func TestUpstreamExchangeUnsupported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var posted atomic.Int64
	issuer := fakeExchangeIssuer(t, false, func(w http.ResponseWriter, r *http.Request) { posted.Add(1) })
	v := exchangeVerifier(t, &testkit.Buffer{}, identity.Config{})
	err := v.CheckExchange(ctx, issuer)
	e := wantReason(t, err, identity.ReasonExchangeUnsupported, "")
	if !strings.Contains(e.Message, "grant_types_supported") {
		t.Fatalf("message = %s", e.Message)
	}
	_, err = v.Verify(ctx, exchangeTeam(issuer, "c", "s"), "opaque-token-of-someone-0123456789")
	wantReason(t, err, identity.ReasonExchangeUnsupported, "")
	if posted.Load() != 0 {
		t.Fatal("the token was posted to an issuer that does not exchange")
	}

	idp := oidctest.Start(t, oidctest.Options{})
	if err := v.CheckExchange(ctx, idp.Issuer()); err != nil {
		t.Fatalf("the provider's exchange: %v", err)
	}
}

// fakeExchangeIssuer serves a discovery document (listing the exchange
// grant when withGrant) whose token endpoint is token.
func fakeExchangeIssuer(t testing.TB, withGrant bool, token http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	grants := []string{"authorization_code"}
	if withGrant {
		grants = append(grants, oidctest.TokenExchangeGrant)
	}
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token",
			"jwks_uri": srv.URL + "/jwks", "grant_types_supported": grants})
	})
	mux.HandleFunc("/token", token)
	return srv.URL
}

// Exchanges in flight are bounded: with one slot, a second token waits
// while the first is at the issuer, and the issuer does not see it.
func TestUpstreamExchangeBounded(t *testing.T) {
	t.Parallel()
	var posts atomic.Int64
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	issuer := fakeExchangeIssuer(t, true, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if posts.Add(1) == 1 {
			close(arrived)
			<-release
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	})
	t.Cleanup(free) // before the server closes, which waits for its handlers
	v := exchangeVerifier(t, &testkit.Buffer{}, identity.Config{MaxExchanges: 1})
	team := exchangeTeam(issuer, "c", "s")
	first := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), team, "first-opaque-token-0123456789")
		first <- err
	}()
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, team, "second-opaque-token-0123456789")
	wantReason(t, err, identity.ReasonExchangeUnavailable, "second-opaque-token-0123456789")
	if n := posts.Load(); n != 1 {
		t.Fatalf("the issuer saw %d requests while one slot was taken, want 1", n)
	}
	free()
	wantReason(t, <-first, identity.ReasonExchangeRefused, "first-opaque-token-0123456789")
}
