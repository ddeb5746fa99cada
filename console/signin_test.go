package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

const testPassword = "correct horse battery staple"

func (e *env) localUser(email string) tenants.User {
	e.t.Helper()
	u, err := e.store.CreateLocalUser(testCtx(e.t), tenants.UserInput{Email: email, Name: "Local " + email, Password: testPassword})
	if err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// signInForm opens the sign-in page and posts the form as a browser would.
func signInForm(t *testing.T, b *browser, email, password, next string) page {
	t.Helper()
	p := b.get(Base + "/signin")
	wantStatus(t, p, http.StatusOK)
	form := url.Values{"csrf": {formCSRF(t, p)}, "email": {email}, "password": {password}}
	if next != "" {
		form.Set("next", next)
	}
	return b.post(Base+"/signin", form)
}

func sessionCookie(t *testing.T, p page, name string) *http.Cookie {
	t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no %s cookie set; Set-Cookie: %v", name, p.Header.Values("Set-Cookie"))
	return nil
}

func TestSignInWithPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.localUser("ada@example.test")
	b := e.browser()

	p := signInForm(t, b, "ada@example.test", testPassword, Base+"/teams")
	wantRedirect(t, p, Base+"/teams")
	c := sessionCookie(t, p, "attach_session")
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("session cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Lax, /, not Secure over http",
			c.HttpOnly, c.SameSite, c.Path, c.Secure)
	}
	_, got, err := e.store.GetSession(testCtx(t), c.Value)
	if err != nil || got.ID != u.ID {
		t.Fatalf("session of cookie: user %q, %v; want %q", got.ID, err, u.ID)
	}

	teams := b.get(Base + "/teams")
	wantStatus(t, teams, http.StatusOK)
	wantContains(t, teams, "Local ada@example.test", `id="signout"`)

	// Signing in again makes a new session and ends the one the browser
	// had, be it its own or one planted in it.
	b2 := e.browser()
	p2 := b2.get(Base + "/signin")
	base, _ := url.Parse(e.URL)
	b2.c.Jar.SetCookies(base, []*http.Cookie{{Name: "attach_session", Value: c.Value, Path: "/"}})
	again := b2.post(Base+"/signin", url.Values{"csrf": {formCSRF(t, p2)}, "email": {"ada@example.test"}, "password": {testPassword}})
	wantRedirect(t, again, Base+"/")
	if c2 := sessionCookie(t, again, "attach_session"); c2.Value == c.Value {
		t.Error("the session token did not change at sign-in")
	}
	if _, _, err := e.store.GetSession(testCtx(t), c.Value); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("old session after a new sign-in: %v, want not_found", err)
	}
}

func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.localUser("bo@example.test")
	b := e.browser()

	wrong := signInForm(t, b, "bo@example.test", "not the password at all", "")
	wantStatus(t, wrong, http.StatusUnauthorized)
	wantContains(t, wrong, "Wrong email or password.", `value="bo@example.test"`)
	wantLacks(t, wrong, "not the password at all")

	// The form without its CSRF token, or with another one, is refused.
	p := b.post(Base+"/signin", url.Values{"email": {"bo@example.test"}, "password": {testPassword}})
	wantStatus(t, p, http.StatusForbidden)
	p = b.post(Base+"/signin", url.Values{"csrf": {strings.Repeat("A", 43)}, "email": {"bo@example.test"}, "password": {testPassword}})
	wantStatus(t, p, http.StatusForbidden)
	if b.cookie("attach_session") != "" {
		t.Fatal("a refused sign-in set a session")
	}

	// A next that leaves the console is ignored.
	for _, next := range []string{"https://evil.test/", "//evil.test/console/", Base + "//evil.test", "/elsewhere"} {
		p := signInForm(t, e.browser(), "bo@example.test", testPassword, next)
		wantRedirect(t, p, Base+"/")
	}
}

func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.localUser("cy@example.test")
	b := e.browser()
	for i := 0; i < 5; i++ {
		p := signInForm(t, b, "cy@example.test", "wrong password number "+strconv.Itoa(i), "")
		wantStatus(t, p, http.StatusUnauthorized)
	}
	// Locked now, even with the right password; and whatever the case.
	p := signInForm(t, b, "CY@example.test", testPassword, "")
	wantStatus(t, p, http.StatusTooManyRequests)
	wantContains(t, p, "Too many failed sign-ins. Try again in 15 minutes.")
	if ra, err := strconv.Atoi(p.Header.Get("Retry-After")); err != nil || ra < 800 || ra > 900 {
		t.Errorf("Retry-After %q, want about 900 seconds", p.Header.Get("Retry-After"))
	}
	if b.cookie("attach_session") != "" {
		t.Error("a throttled sign-in set a session")
	}
	// Another account from the same address is not locked yet.
	e.localUser("di@example.test")
	wantRedirect(t, signInForm(t, b, "di@example.test", testPassword, ""), Base+"/")
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("eve")
	b := e.signedIn(u)
	token := b.cookie("attach_session")

	wantStatus(t, b.post(Base+"/signout", url.Values{"csrf": {"wrong"}}), http.StatusForbidden)
	if _, _, err := e.store.GetSession(testCtx(t), token); err != nil {
		t.Fatalf("session gone after a refused sign-out: %v", err)
	}
	p := b.post(Base+"/signout", nil)
	wantRedirect(t, p, Base+"/signin?done=signed-out")
	if _, _, err := e.store.GetSession(testCtx(t), token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("session after sign-out: %v, want not_found", err)
	}
	if b.cookie("attach_session") != "" {
		t.Error("the session cookie was not cleared")
	}
	wantContains(t, b.get(Base+"/signin?done=signed-out"), "You are signed out.")
	// The old token no longer opens anything.
	wantRedirect(t, b.get(Base+"/teams"), Base+"/signin?next=%2Fconsole%2Fteams")
}

func TestSignedOutIsSentToSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	wantRedirect(t, b.get(Base+"/"), Base+"/signin")
	wantRedirect(t, b.get(Base), Base+"/signin")
	wantRedirect(t, b.get(Base+"/t/anything/engines"), Base+"/signin?next=%2Fconsole%2Ft%2Fanything%2Fengines")
	p := b.postJSON(Base+"/t/anything/token", "x")
	wantStatus(t, p, http.StatusUnauthorized)
	if code := jsonErrorCode(t, p); code != "signed_out" {
		t.Errorf("code %q", code)
	}
	// No user yet: the sign-in page points at the setup link.
	wantContains(t, b.get(Base+"/signin"), `data-testid="no-users"`)
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{publicURL: "https://gw.example.test"})
	e.localUser("fay@example.test")
	// Cookies marked Secure are not sent back over plain http, so the test
	// reads Set-Cookie directly.
	req := httptest.NewRequest(http.MethodGet, Base+"/signin", nil)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	var pre *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-attach_pre" {
			pre = c
		}
	}
	if pre == nil || !pre.Secure || !pre.HttpOnly || pre.Path != "/" {
		t.Fatalf("pre-session cookie %+v, want __Host-attach_pre, Secure, HttpOnly, Path=/", pre)
	}
	form := url.Values{"csrf": {pre.Value}, "email": {"fay@example.test"}, "password": {testPassword}}
	req = httptest.NewRequest(http.MethodPost, Base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(pre)
	resp, err = e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in status %d", resp.StatusCode)
	}
	var s *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-attach_session" {
			s = c
		}
	}
	if s == nil || !s.Secure || !s.HttpOnly || s.Path != "/" || s.SameSite != http.SameSiteLaxMode || s.Domain != "" {
		t.Fatalf("session cookie %+v, want __Host- prefix, Secure, HttpOnly, Lax, Path=/, no Domain", s)
	}
}

func TestSetup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	token, err := e.store.CreateSetupToken(testCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()

	wantStatus(t, b.get(Base+"/setup"), http.StatusNotFound)
	p := b.get(Base + "/setup?token=" + url.QueryEscape(token))
	wantStatus(t, p, http.StatusOK)
	csrf := formCSRF(t, p)
	form := func(pw2 string) url.Values {
		return url.Values{"csrf": {csrf}, "token": {token}, "email": {"owner@example.test"}, "name": {"Olga Owner"},
			"password": {testPassword}, "password2": {pw2}}
	}

	p = b.post(Base+"/setup", form("something else"))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="password2-error"`, `value="owner@example.test"`, `value="Olga Owner"`)
	wantLacks(t, p, testPassword)

	bad := form(testPassword)
	bad.Set("token", "not-the-token")
	wantStatus(t, b.post(Base+"/setup", bad), http.StatusNotFound)

	short := form("short")
	short.Set("password", "short")
	p = b.post(Base+"/setup", short)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="password-error"`)

	wantRedirect(t, b.post(Base+"/setup", form(testPassword)), Base+"/teams?done=welcome")
	p = b.get(Base + "/teams?done=welcome")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Olga Owner", "Create your first team")

	// Once done, the page only says so.
	again := e.browser().get(Base + "/setup?token=" + url.QueryEscape(token))
	wantContains(t, again, `data-testid="setup-done"`)
}
