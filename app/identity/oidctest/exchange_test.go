package oidctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// exchange posts one token-exchange request with the exchange client's
// credentials and returns the status and the decoded answer.
func exchange(t *testing.T, idp *oidctest.Provider, subject, typ, resource string) (int, map[string]any) {
	t.Helper()
	id, secret := idp.ExchangeClient()
	form := url.Values{
		"grant_type": {oidctest.TokenExchangeGrant}, "subject_token": {subject},
		"subject_token_type": {typ}, "resource": {resource},
	}
	req, _ := http.NewRequest(http.MethodPost, idp.Issuer()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, body)
	}
	return resp.StatusCode, out
}

// The provider's token-exchange grant is listed in discovery, exchanges an
// outside issuer's JWT and its own opaque tokens for a JWT for the resource
// with the subject token's sub, and refuses forged, foreign and made-up
// subject tokens with invalid_grant.
func TestTokenExchangeGrant(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{})
	const resource = "https://gw.test/t/acme"

	var disc struct {
		Grants []string `json:"grant_types_supported"`
	}
	resp, err := http.Get(idp.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if !slices.Contains(disc.Grants, oidctest.TokenExchangeGrant) {
		t.Fatalf("grant_types_supported = %v", disc.Grants)
	}

	exp := time.Now().Add(5 * time.Minute).Unix()
	outside := idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice", "exp": exp})
	status, out := exchange(t, idp, outside, "urn:ietf:params:oauth:token-type:jwt", resource)
	if status != http.StatusOK {
		t.Fatalf("outside JWT: %d %v", status, out)
	}
	tok, _ := out["access_token"].(string)
	cl := claims(t, tok)
	if cl["sub"] != "alice" || cl["aud"] != resource || cl["iss"] != idp.Issuer() || header(t, tok)["typ"] != "at+jwt" {
		t.Fatalf("exchanged claims = %v, header %v", cl, header(t, tok))
	}

	status, out = exchange(t, idp, idp.OpaqueToken(t), "urn:ietf:params:oauth:token-type:access_token", resource)
	if status != http.StatusOK {
		t.Fatalf("opaque token: %d %v", status, out)
	}
	if cl := claims(t, out["access_token"].(string)); cl["sub"] != "gateway-rs256" {
		t.Fatalf("opaque token exchanged for sub %v", cl["sub"])
	}

	for name, subject := range map[string]string{
		"forged":         idp.SignForged(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice", "exp": exp}),
		"other issuer":   idp.SignOutside(t, map[string]any{"iss": "https://evil.test", "sub": "alice", "exp": exp}),
		"expired":        idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()}),
		"made-up opaque": "not-a-token-the-provider-issued",
	} {
		status, out := exchange(t, idp, subject, "urn:ietf:params:oauth:token-type:access_token", resource)
		if status != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v, want 400 invalid_grant", name, status, out)
		}
	}
}
