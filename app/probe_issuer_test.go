package app

import (
	"context"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// An issuer URL that differs from a real provider's by a trailing slash,
// either way, is checked and answered as the provider writes it; saved so,
// the provider's tokens call the gateway. A URL the provider does not serve
// is refused in plain words.
func TestProberIssuerTrailingSlash(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	owner := consoleAccount(t, gw, "slash@example.test", "Sam Slash")
	team := teamWithEngine(t, gw, owner, "lab", eng.URL(), "tiny")
	ctx := context.Background()

	for _, withSlash := range []bool{false, true} {
		idp := oidctest.Start(t, oidctest.Options{TrailingSlash: withSlash})
		typed := idp.Issuer() + "/"
		if withSlash {
			typed = strings.TrimSuffix(idp.Issuer(), "/")
		}
		issuer, keys, err := gw.probe.CheckIssuer(ctx, typed)
		if err != nil || issuer != idp.Issuer() || keys == 0 {
			t.Fatalf("CheckIssuer(%q) = %q, %d, %v; want %q", typed, issuer, keys, err, idp.Issuer())
		}
		audience := "api://slash-" + map[bool]string{false: "none", true: "kept"}[withSlash]
		if _, err := gw.store.CreateIssuer(ctx, team.ID, tenants.IssuerInput{URL: issuer, Audience: audience}); err != nil {
			t.Fatal(err)
		}
		token := idp.Token(t, audience)
		waitFor(t, "a token of issuer "+issuer+" accepted", func() bool {
			resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", token, chatBody)
			return resp.StatusCode == 200
		})
	}

	// A path under the provider is not the same issuer.
	other := oidctest.Start(t, oidctest.Options{})
	_, _, err := gw.probe.CheckIssuer(ctx, other.Issuer()+"/realm")
	if err == nil {
		t.Fatal("an issuer URL whose discovery names another issuer was accepted")
	}
	if msg := err.Error(); internalCodeRE.MatchString(msg) {
		t.Errorf("refusal shows internals: %q", msg)
	} else if !strings.Contains(msg, "discovery document") {
		t.Errorf("refusal %q does not say what could not be read", msg)
	}
}
