package console

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// ssoLogoutEnv is ssoEnv with the console's sign-in page registered as the
// client's post-logout redirect, as an install that uses RP-initiated
// logout registers it at its provider.
func ssoLogoutEnv(t *testing.T) (*env, *oidctest.Provider) {
	t.Helper()
	return ssoLogoutEnvLocal(t, false)
}

// ssoLogoutEnvLocal is ssoLogoutEnv, with OIDCConfig.LocalSignOut set to local.
func ssoLogoutEnvLocal(t *testing.T, local bool) (*env, *oidctest.Provider) {
	t.Helper()
	var idp *oidctest.Provider
	e := newEnv(t, envOptions{oidc: func(publicURL string) OIDCConfig {
		idp = oidctest.Start(t, oidctest.Options{
			RedirectURIs:           []string{publicURL + Base + "/sso/callback"},
			PostLogoutRedirectURIs: []string{publicURL + Base + "/signin?done=signed-out"},
		})
		id, secret := idp.LoginClient()
		return OIDCConfig{Issuer: idp.Issuer(), ClientID: id, ClientSecret: secret, LocalSignOut: local}
	}})
	return e, idp
}

// providerAsksLogin follows an authorization request at the provider and
// tells whether it shows its login page (no provider session) rather than
// sending the browser straight back to the console.
func providerAsksLogin(t *testing.T, b *browser, authURL string) bool {
	t.Helper()
	callback := b.base + Base + "/sso/callback"
	next := authURL
	for step := 0; step < 10; step++ {
		req, err := http.NewRequest(http.MethodGet, next, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := b.do(req)
		if loc := p.Header.Get("Location"); p.StatusCode/100 == 3 && loc != "" {
			u, err := p.Request.URL.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(u.String(), callback) {
				return false
			}
			next = u.String()
			continue
		}
		if strings.Contains(p.Body, `name="login"`) {
			return true
		}
		t.Fatalf("unexpected provider page (status %d): %.400s", p.StatusCode, p.Body)
	}
	t.Fatal("the provider kept redirecting")
	return false
}

var (
	logoutFormAction = regexp.MustCompile(`id="op.logoutForm" method="post" action="([^"]+)"`)
	logoutFormXSRF   = regexp.MustCompile(`name="xsrf" value="([^"]+)"`)
)

func TestSSOSignOutEndsProviderSession(t *testing.T) {
	t.Parallel()
	e, idp := ssoLogoutEnv(t)
	b := e.browser()

	cb := loginAtProvider(t, b, startSSO(t, b, ""), "grace")
	p := b.get(cb.RequestURI())
	wantStatus(t, p, http.StatusSeeOther)
	token := b.cookie("attach_session")
	// The provider remembers the browser: a new sign-in goes straight
	// through, without its login page. (What signing out must undo.)
	if providerAsksLogin(t, b, startSSO(t, b, "")) {
		t.Fatal("the provider asked to log in again before any sign-out")
	}
	// That started no new console session: the flow was not finished.
	if b.cookie("attach_session") != token {
		t.Fatal("the session changed")
	}

	csrf := formCSRF(t, b.get(Base+"/account"))
	p = b.post(Base+"/signout", url.Values{"csrf": {csrf}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `data-testid="provider-sign-out"`, `http-equiv="refresh"`)
	refresh := p.Header.Get("Refresh")
	to, ok := strings.CutPrefix(refresh, "0;url=")
	if !ok {
		t.Fatalf("Refresh header %q, want 0;url=<end session endpoint>", refresh)
	}
	end, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	if end.Scheme+"://"+end.Host+end.Path != strings.TrimSuffix(idp.Issuer(), "/")+"/session/end" {
		t.Fatalf("sign-out goes to %s, want the provider's end_session_endpoint", to)
	}
	q := end.Query()
	if got, want := q.Get("post_logout_redirect_uri"), e.URL+Base+"/signin?done=signed-out"; got != want {
		t.Errorf("post_logout_redirect_uri %q, want %q", got, want)
	}
	hint := q.Get("id_token_hint")
	parts := strings.Split(hint, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token_hint %q is not a JWT", hint)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Sub string
		Aud      any
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Sub != "grace" || claims.Iss != idp.Issuer() {
		t.Fatalf("id_token_hint claims %s (%v), want grace's ID token from the provider", raw, err)
	}
	if strings.Contains(e.logs.String(), parts[2]) {
		t.Fatal("the ID token is in the console's logs")
	}
	// Signed out here at once, whatever the provider does.
	if b.cookie("attach_session") != "" {
		t.Fatal("the session cookie is still set")
	}
	if _, _, err := e.store.GetSession(testCtx(t), token); err == nil {
		t.Fatal("the console session still exists")
	}

	// The provider accepts the request, asks to confirm, and sends the
	// browser back to the console's sign-in page.
	req, _ := http.NewRequest(http.MethodGet, to, nil)
	p = b.do(req)
	wantStatus(t, p, http.StatusOK)
	action, xsrf := logoutFormAction.FindStringSubmatch(p.Body), logoutFormXSRF.FindStringSubmatch(p.Body)
	if action == nil || xsrf == nil {
		t.Fatalf("the provider did not show its sign-out confirmation: %.600s", p.Body)
	}
	confirm, err := end.Parse(action[1])
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodPost, confirm.String(),
		strings.NewReader(url.Values{"xsrf": {xsrf[1]}, "logout": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p = b.do(req)
	if loc := p.Header.Get("Location"); p.StatusCode/100 != 3 || loc != e.URL+Base+"/signin?done=signed-out" {
		t.Fatalf("provider answered %d to %q, want a redirect to the console's sign-in page", p.StatusCode, loc)
	}
	wantContains(t, b.get(Base+"/signin?done=signed-out"), "You are signed out.")

	// The provider's session is over: signing in asks for the login again.
	if !providerAsksLogin(t, b, startSSO(t, b, "")) {
		t.Fatal("the provider still signs the browser in without asking: its session did not end")
	}
}

// A password session signs out locally, even with single sign-on on.
func TestPasswordSignOutStaysLocalWithSSO(t *testing.T) {
	t.Parallel()
	e, _ := ssoLogoutEnv(t)
	b := e.browser()
	e.localUser("ada@example.test")
	wantStatus(t, signInForm(t, b, "ada@example.test", testPassword, ""), http.StatusSeeOther)
	csrf := formCSRF(t, b.get(Base+"/account"))
	wantRedirect(t, b.post(Base+"/signout", url.Values{"csrf": {csrf}}), Base+"/signin?done=signed-out")
}

// With LocalSignOut a single sign-on session signs out of the console
// only: the provider still remembers the browser.
func TestSSOLocalSignOut(t *testing.T) {
	t.Parallel()
	e, _ := ssoLogoutEnvLocal(t, true)
	b := e.browser()
	cb := loginAtProvider(t, b, startSSO(t, b, ""), "grace")
	wantStatus(t, b.get(cb.RequestURI()), http.StatusSeeOther)
	csrf := formCSRF(t, b.get(Base+"/account"))
	wantRedirect(t, b.post(Base+"/signout", url.Values{"csrf": {csrf}}), Base+"/signin?done=signed-out")
	if b.cookie("attach_session") != "" {
		t.Fatal("the session cookie is still set")
	}
	if providerAsksLogin(t, b, startSSO(t, b, "")) {
		t.Fatal("the provider's session ended, though sign-out was to be local")
	}
}
