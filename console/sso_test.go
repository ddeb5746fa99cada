package console

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// ssoEnv is a console whose SSO provider is a real oidc-provider.
func ssoEnv(t *testing.T) (*env, *oidctest.Provider) {
	t.Helper()
	var idp *oidctest.Provider
	e := newEnv(t, envOptions{oidc: func(publicURL string) OIDCConfig {
		idp = oidctest.Start(t, oidctest.Options{RedirectURIs: []string{publicURL + Base + "/sso/callback"}})
		id, secret := idp.LoginClient()
		return OIDCConfig{Issuer: idp.Issuer(), ClientID: id, ClientSecret: secret}
	}})
	return e, idp
}

// loginAtProvider follows the redirect to the provider through its login
// and consent pages as login, and returns the URL it sends the browser back
// to (the console's callback), without calling it.
func loginAtProvider(t *testing.T, b *browser, authURL, login string) *url.URL {
	t.Helper()
	callback := b.base + Base + "/sso/callback"
	next := authURL
	method, form := http.MethodGet, url.Values(nil)
	for step := 0; step < 10; step++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, next, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		p := b.do(req)
		if loc := p.Header.Get("Location"); p.StatusCode/100 == 3 && loc != "" {
			u, err := p.Request.URL.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(u.String(), callback) {
				return u
			}
			next, method, form = u.String(), http.MethodGet, nil
			continue
		}
		switch {
		case strings.Contains(p.Body, `name="login"`):
			form = url.Values{"prompt": {"login"}, "login": {login}, "password": {"anything"}}
		case strings.Contains(p.Body, `value="consent"`):
			form = url.Values{"prompt": {"consent"}}
		default:
			t.Fatalf("unexpected provider page (status %d): %.400s", p.StatusCode, p.Body)
		}
		next, method = p.Request.URL.String(), http.MethodPost
	}
	t.Fatal("the provider never sent the browser back")
	return nil
}

// startSSO begins a sign-in and returns the provider URL it redirects to.
func startSSO(t *testing.T, b *browser, next string) string {
	t.Helper()
	path := Base + "/sso"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	p := b.get(path)
	wantStatus(t, p, http.StatusSeeOther)
	loc := p.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization request lacks state, nonce or PKCE: %s", loc)
	}
	return loc
}

func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	e, idp := ssoEnv(t)
	b := e.browser()

	signin := b.get(Base + "/signin")
	wantContains(t, signin, `id="sso"`)

	auth := startSSO(t, b, Base+"/teams")
	if !strings.HasPrefix(auth, idp.Issuer()) {
		t.Fatalf("redirect to %s, want the provider %s", auth, idp.Issuer())
	}
	cb := loginAtProvider(t, b, auth, "grace")
	p := b.get(cb.RequestURI())
	wantRedirect(t, p, Base+"/teams")
	c := sessionCookie(t, p, "attach_session")
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("session cookie %+v", c)
	}
	_, u, err := e.store.GetSession(testCtx(t), c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "grace@example.test" || u.Name != "Test User grace" || u.OIDCIssuer != idp.Issuer() {
		t.Errorf("user %+v, want grace from the provider", u)
	}
	wantContains(t, b.get(Base+"/teams"), "Test User grace")

	// A second sign-in finds the same user.
	b2 := e.browser()
	p = b2.get(loginAtProvider(t, b2, startSSO(t, b2, ""), "grace").RequestURI())
	wantRedirect(t, p, Base+"/")
	_, u2, err := e.store.GetSession(testCtx(t), sessionCookie(t, p, "attach_session").Value)
	if err != nil || u2.ID != u.ID {
		t.Errorf("second sign-in: user %q (%v), want %q", u2.ID, err, u.ID)
	}
	if n, _ := e.store.CountUsers(testCtx(t)); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

// TestSSORefusals: each of state, nonce and PKCE verifier is checked, and
// the flow cookie must be there, untampered and fresh.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	e, _ := ssoEnv(t)
	sso := e.console.sso

	refused := func(t *testing.T, p page, b *browser, status int) {
		t.Helper()
		wantStatus(t, p, status)
		wantContains(t, p, `id="signin-error"`)
		if b.cookie("attach_session") != "" {
			t.Fatal("a refused SSO sign-in set a session")
		}
	}
	// flowOf reads the flow a browser carries.
	flowOf := func(t *testing.T, b *browser) ssoFlow {
		u, _ := url.Parse(b.base + Base + "/sso/callback")
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "attach_sso" {
				f, ok := sso.open(c.Value, time.Now())
				if !ok {
					t.Fatal("the flow cookie does not open")
				}
				return f
			}
		}
		t.Fatal("no flow cookie")
		return ssoFlow{}
	}
	setFlow := func(t *testing.T, b *browser, f ssoFlow) {
		v, err := sso.seal(f)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(b.base + Base + "/sso/callback")
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "attach_sso", Value: v, Path: Base + "/sso"}})
	}

	t.Run("wrong state", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		q := cb.Query()
		q.Set("state", "forged")
		refused(t, b.get(Base+"/sso/callback?"+q.Encode()), b, http.StatusBadRequest)
	})
	t.Run("no flow cookie", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		other := e.browser() // the code arrives in a browser that did not start the flow
		refused(t, other.get(cb.RequestURI()), other, http.StatusBadRequest)
	})
	t.Run("tampered cookie", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		u, _ := url.Parse(b.base + Base + "/sso/callback")
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "attach_sso" {
				b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "attach_sso", Value: c.Value[:len(c.Value)-2] + "xx", Path: Base + "/sso"}})
			}
		}
		refused(t, b.get(cb.RequestURI()), b, http.StatusBadRequest)
	})
	t.Run("expired flow", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		f := flowOf(t, b)
		f.Expires = time.Now().Add(-time.Second).Unix()
		setFlow(t, b, f)
		refused(t, b.get(cb.RequestURI()), b, http.StatusBadRequest)
	})
	t.Run("wrong nonce", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		f := flowOf(t, b)
		f.Nonce = "another-nonce"
		setFlow(t, b, f)
		refused(t, b.get(cb.RequestURI()), b, http.StatusBadRequest)
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "heidi")
		f := flowOf(t, b)
		f.Verifier = strings.Repeat("v", 50)
		setFlow(t, b, f)
		refused(t, b.get(cb.RequestURI()), b, http.StatusBadGateway)
	})
	t.Run("provider error", func(t *testing.T) {
		b := e.browser()
		startSSO(t, b, "")
		f := flowOf(t, b)
		p := b.get(Base + "/sso/callback?" + url.Values{"error": {"access_denied"}, "state": {f.State}}.Encode())
		refused(t, p, b, http.StatusBadRequest)
		wantContains(t, p, "access_denied")
	})
	t.Run("the flow is used once", func(t *testing.T) {
		b := e.browser()
		cb := loginAtProvider(t, b, startSSO(t, b, ""), "ivan")
		wantStatus(t, b.get(cb.RequestURI()), http.StatusSeeOther)
		replay := e.browser()
		setFlow(t, replay, ssoFlow{State: cb.Query().Get("state"), Nonce: "n", Verifier: strings.Repeat("v", 50), Expires: time.Now().Add(time.Minute).Unix()})
		wantStatus(t, replay.get(cb.RequestURI()), http.StatusBadGateway)
	})
	if n, err := e.store.CountUsers(testCtx(t)); err != nil || n != 1 {
		t.Errorf("%d users (%v); only the one completed sign-in should have made one", n, err)
	}
}

// TestSSOEmailTaken: a provider that does not vouch for an email cannot
// take over a password account by naming it; the person is told to use the
// password.
func TestSSOEmailTaken(t *testing.T) {
	t.Parallel()
	e, _ := ssoEnv(t)
	e.localUser("unverified-judy@example.test")
	b := e.browser()
	p := b.get(loginAtProvider(t, b, startSSO(t, b, ""), "unverified-judy").RequestURI())
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "An account with your email exists already")
	if b.cookie("attach_session") != "" {
		t.Error("signed in to someone else's account")
	}
}

func TestSSOProviderDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{oidc: func(string) OIDCConfig {
		return OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "console"}
	}})
	p := e.browser().get(Base + "/sso")
	wantStatus(t, p, http.StatusBadGateway)
	wantContains(t, p, "cannot be reached")
	if strings.Contains(e.logs.String(), "client_secret") {
		t.Error("the log mentions the client secret")
	}
}

func TestSSOOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantStatus(t, e.browser().get(Base+"/sso"), http.StatusNotFound)
	wantLacks(t, e.browser().get(Base+"/signin"), `id="sso"`)
}
