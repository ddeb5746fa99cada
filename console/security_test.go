package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("sam")
	e.team("hdr", u)
	b := e.signedIn(u)
	for _, p := range []page{
		b.get(Base + "/t/hdr"),
		b.get(Base + "/nowhere"),
		e.browser().get(Base + "/signin"),
		b.post(Base+"/t/hdr/settings/rename", url.Values{"csrf": {"bad"}}),
	} {
		h := p.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p.Request.URL.Path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", p.Request.URL.Path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", p.Request.URL.Path, h)
		}
		// No inline script or style anywhere: CSP would block it.
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, "<style") || strings.Contains(p.Body, " onclick=") {
			t.Errorf("%s: inline script or style in the page", p.Request.URL.Path)
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("tia")
	b := e.signedIn(u)
	p := b.get(Base + "/no/such/page")
	wantStatus(t, p, http.StatusNotFound)
	wantContains(t, p, `data-testid="error-page"`, "Page not found", `/static/console.css`, "User tia")

	req, _ := http.NewRequest(http.MethodGet, e.URL+Base+"/no/such/page", nil)
	req.Header.Set("Accept", "application/json")
	p = b.do(req)
	wantStatus(t, p, http.StatusNotFound)
	if code := jsonErrorCode(t, p); code != "not_found" {
		t.Errorf("code %q", code)
	}
	// Signed out, too.
	wantStatus(t, e.browser().get(Base+"/no/such/page"), http.StatusNotFound)
}

// TestCSRFOnEveryPost: every state-changing route refuses a POST without
// the session's token, or with another one, and changes nothing.
func TestCSRFOnEveryPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, other := e.user("uma"), e.user("vic")
	f := e.teamWithOneOfEach("csrf", owner, other, "w@example.test")
	team, eng, is, key, inv, token := f.team, f.engine, f.issuer, f.key, f.invite, f.inviteToken
	ctx := testCtx(t)
	posts := map[string]url.Values{
		"/signout":                                     nil,
		"/teams":                                       {"slug": {"new-team"}, "name": {"New"}},
		"/t/csrf/try":                                  {"model": {"m"}, "message": {"hi"}},
		"/t/csrf/token":                                nil,
		"/t/csrf/engines":                              {"name": {"e2"}, "dialect": {"ollama"}, "base_url": {"http://x:1"}},
		"/t/csrf/engines/" + eng.ID:                    {"name": {"renamed"}, "dialect": {"ollama"}, "base_url": {"http://x:1"}},
		"/t/csrf/engines/" + eng.ID + "/test":          nil,
		"/t/csrf/engines/" + eng.ID + "/delete":        nil,
		"/t/csrf/issuers":                              {"issuer": {"https://x.test"}, "audience": {"a"}},
		"/t/csrf/issuers/" + is.ID:                     {"issuer": {"https://x.test"}, "audience": {"a"}},
		"/t/csrf/issuers/" + is.ID + "/delete":         nil,
		"/t/csrf/issuers/did":                          {"methods": {"key"}},
		"/t/csrf/keys":                                 {"name": {"k2"}},
		"/t/csrf/keys/" + key.ID + "/revoke":           nil,
		"/t/csrf/members/invite":                       {"email": {"z@example.test"}, "role": {"member"}},
		"/t/csrf/invites/" + inv.ID + "/revoke":        nil,
		"/t/csrf/members/" + other.ID + "/role":        {"role": {"admin"}},
		"/t/csrf/members/" + other.ID + "/remove":      nil,
		"/t/csrf/settings/rename":                      {"name": {"Renamed"}},
		"/t/csrf/settings/engine-cookies":              {"engine_cookies": {"on"}},
		"/t/csrf/settings/delete":                      {"confirm": {team.Name}},
		"/invite/" + url.PathEscape(token):             nil,
		"/invite/" + url.PathEscape(token) + "/signup": {"email": {"w@example.test"}, "name": {"W"}, "password": {testPassword}, "password2": {testPassword}},
	}
	before := snapshot(t, e, team)
	b := e.signedIn(owner)
	for path, form := range posts {
		for _, tok := range []string{"", "wrong-token", strings.Repeat("x", len(b.csrf))} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("csrf", tok)
			p := b.post(Base+path, f)
			if p.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: status %d, want 403", path, tok, p.StatusCode)
			}
		}
	}
	if after := snapshot(t, e, team); after != before {
		t.Fatalf("POSTs without a valid CSRF token changed the team:\nbefore %s\nafter  %s", before, after)
	}
	if _, _, err := e.store.GetSession(ctx, b.cookie("attach_session")); err != nil {
		t.Errorf("sign-out without CSRF ended the session: %v", err)
	}
	if n, _ := e.store.CountUsers(ctx); n != 2 {
		t.Errorf("%d users; the invite sign-up without CSRF made one", n)
	}
	if len(e.minter.minted()) != 0 {
		t.Error("a token was minted without CSRF")
	}
	// The session's token in the header works for scripts.
	wantStatus(t, b.postJSON(Base+"/t/csrf/token", b.csrf), http.StatusOK)
}

// TestUserInputIsEscaped: what people type is shown as text, never markup.
func TestUserInputIsEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const evil = `<script>alert(1)</script>`
	u, err := e.store.UpsertOIDCUser(testCtx(t), "https://idp.test", "x", "xss@example.test", `<img src=x onerror=alert(1)>`, false)
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(u)
	wantRedirect(t, b.post(Base+"/teams", url.Values{"slug": {"xss"}, "name": {evil}}), Base+"/t/xss?done=team-created")
	team, err := e.store.GetTeam(testCtx(t), "xss")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.CreateAPIKey(testCtx(t), team.ID, tenants.APIKeyInput{Name: evil}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/t/xss", "/t/xss/engines", "/t/xss/keys", "/t/xss/members", "/t/xss/settings", "/teams"} {
		p := b.get(Base + path)
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, evil, "<img src=x")
		wantContains(t, p, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
	// A name the store refuses comes back in the form, escaped.
	p := b.post(Base+"/t/xss/engines", url.Values{"name": {evil}, "dialect": {"ollama"}, "base_url": {"http://x:1"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantLacks(t, p, evil)
	wantContains(t, p, `value="&lt;script&gt;alert(1)&lt;/script&gt;"`)
	// And in a URL field, a javascript: URL never becomes a link.
	p = b.post(Base+"/t/xss/engines", url.Values{"name": {"ok"}, "dialect": {"ollama"}, "base_url": {"javascript:alert(1)"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantLacks(t, p, `href="javascript:`)
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.localUser("wes@example.test")
	b := e.browser()
	wantRedirect(t, signInForm(t, b, "wes@example.test", testPassword, ""), Base+"/")
	signInForm(t, e.browser(), "wes@example.test", "a wrong password here", "")
	session := b.cookie("attach_session")
	team := e.team("quiet", u)
	b.csrf = formCSRF(t, b.get(Base+"/t/quiet"))
	p := b.follow(b.post(Base+"/t/quiet/keys", url.Values{"name": {"k"}}))
	secret := secretRE.FindStringSubmatch(p.Body)[1]
	b.post(Base+"/t/quiet/engines", url.Values{"name": {"e"}, "dialect": {"ollama"}, "base_url": {"http://x:1"}, "api_key": {upstreamKey}})
	// Make the store fail so something is logged: the team is gone under
	// the session's feet.
	if err := e.store.DeleteTeam(testCtx(t), team.ID); err != nil {
		t.Fatal(err)
	}
	b.post(Base+"/t/quiet/keys", url.Values{"name": {"k"}})
	logs := e.logs.String()
	for name, s := range map[string]string{"session token": session, "CSRF token": b.csrf, "API key": secret,
		"upstream key": upstreamKey, "password": testPassword} {
		if strings.Contains(logs, s) {
			t.Errorf("the %s reached the log", name)
		}
	}
}
