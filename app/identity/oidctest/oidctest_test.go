package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	return oidctest.JWTPart(t, tok, 0)
}

func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	return oidctest.JWTPart(t, tok, 1)
}

func TestProviderIssuesEachAlgorithm(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{})
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		tok := idp.TokenAlg(t, alg, "api://team-a", "chat")
		h := header(t, tok)
		if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != idp.KeyID(alg) {
			t.Errorf("%s: header %v, want alg %s typ at+jwt kid %s", alg, h, alg, idp.KeyID(alg))
		}
		c := claims(t, tok)
		if c["aud"] != "api://team-a" || c["iss"] != idp.Issuer() || c["sub"] != "gateway-"+strings.ToLower(alg) || c["scope"] != "chat" {
			t.Errorf("%s: claims %v", alg, c)
		}
	}
}

func TestRotateKeys(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{})
	old := idp.KeyID("RS256")
	idp.RotateKeys(t)
	if idp.KeyID("RS256") == old {
		t.Fatal("kid unchanged after rotation")
	}
	if kid := header(t, idp.Token(t, "api://x"))["kid"]; kid != idp.KeyID("RS256") {
		t.Errorf("token kid %v, want the new %s", kid, idp.KeyID("RS256"))
	}
	if published(t, idp, old) != 1 {
		t.Error("old key no longer published after RotateKeys")
	}
	idp.ReplaceKeys(t)
	if published(t, idp, old) != 0 {
		t.Error("old key still published after ReplaceKeys")
	}
	if n := len(idp.PublicJWKS(t).Keys); n != 3 {
		t.Errorf("published %d keys after ReplaceKeys, want 3", n)
	}
	if idp.Hits(t, "/jwks") != 2 {
		t.Errorf("hits on /jwks = %d, want 2", idp.Hits(t, "/jwks"))
	}
}

func published(t *testing.T, idp *oidctest.Provider, kid string) int {
	set := idp.PublicJWKS(t)
	return len(set.Key(kid))
}

// TestLoginThroughDevInteractions signs a user in the way the console will:
// authorization code + PKCE through the provider's development login and
// consent pages, then the code exchanged for an ID token with the claims
// findAccount returns.
func TestLoginThroughDevInteractions(t *testing.T) {
	t.Parallel()
	const redirect = "http://127.0.0.1:1/console/callback"
	idp := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{redirect}})
	clientID, secret := idp.LoginClient()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse // the app's callback: stop here
		}
		return nil
	}}
	verifier := "a-pkce-verifier-that-is-long-enough-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	auth := idp.Issuer() + "/auth?" + url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {redirect},
		"response_type":         {"code"},
		"scope":                 {"openid email profile"},
		"state":                 {"st4te"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}.Encode()
	resp, err := browser.Get(auth)
	if err != nil {
		t.Fatal(err)
	}
	var callback *url.URL
	for step := 0; step < 4 && callback == nil; step++ {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, redirect) {
			callback, _ = url.Parse(loc)
			break
		}
		form := url.Values{}
		switch {
		case strings.Contains(string(body), `name="login"`):
			form = url.Values{"prompt": {"login"}, "login": {"alice"}, "password": {"anything"}}
		case strings.Contains(string(body), `value="consent"`):
			form = url.Values{"prompt": {"consent"}}
		default:
			t.Fatalf("unexpected page at step %d (status %d): %.300s", step, resp.StatusCode, body)
		}
		resp, err = browser.PostForm(resp.Request.URL.String(), form)
		if err != nil {
			t.Fatal(err)
		}
	}
	if callback == nil {
		t.Fatal("never reached the redirect URI")
	}
	if callback.Query().Get("state") != "st4te" || callback.Query().Get("code") == "" {
		t.Fatalf("callback %s lacks code or state", callback.Redacted())
	}

	req, _ := http.NewRequest(http.MethodPost, idp.Issuer()+"/token", strings.NewReader(url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {callback.Query().Get("code")},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	body, _ := io.ReadAll(tr.Body)
	if err := json.Unmarshal(body, &out); err != nil || out.IDToken == "" {
		t.Fatalf("token response %d: %s", tr.StatusCode, body)
	}
	c := claims(t, out.IDToken)
	if c["sub"] != "alice" || c["email"] != "alice@example.test" || c["name"] != "Test User alice" || c["aud"] != clientID {
		t.Errorf("id token claims %v", c)
	}
}
