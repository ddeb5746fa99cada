package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// fieldErrorRE finds the messages shown next to form fields.
var fieldErrorRE = regexp.MustCompile(`data-testid="([a-z_0-9]+)-error">([^<]*)<`)

// reasonCodeRE matches an internal code put before a message, as in
// "issuer_unavailable: ..." or "invalid_field: ...".
var reasonCodeRE = regexp.MustCompile(`\b[a-z]+_[a-z_]+: `)

// wantFieldErrors checks that p is a refused form showing an error next to
// each of fields, and that no message starts with an internal code.
func wantFieldErrors(t *testing.T, p page, fields ...string) map[string]string {
	t.Helper()
	wantStatus(t, p, http.StatusUnprocessableEntity)
	got := map[string]string{}
	for _, m := range fieldErrorRE.FindAllStringSubmatch(p.Body, -1) {
		got[m[1]] = m[2]
		if reasonCodeRE.MatchString(m[2]) {
			t.Errorf("%s: the %s error shows an internal code: %q", p.Request.URL.Path, m[1], m[2])
		}
	}
	for _, f := range fields {
		if got[f] == "" {
			t.Errorf("%s: no error next to %s; errors shown: %v", p.Request.URL.Path, f, got)
		}
	}
	return got
}

// Every form shows each faulty field's error at once, not only the first.
func TestFormsShowEveryError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ola")
	team := e.team("all", u)
	b := e.signedIn(u)
	long := strings.Repeat("x", 5000)

	cases := []struct {
		name   string
		path   string
		form   url.Values
		fields []string
	}{
		{"API key", "/t/all/keys", url.Values{"name": {""}, "expires_at": {"soon"}}, []string{"name", "expires_at"}},
		{"API key in the past", "/t/all/keys", url.Values{"name": {"bad\x01name"}, "expires_at": {"2001-01-01"}}, []string{"name", "expires_at"}},
		{"invite", "/t/all/members/invite", url.Values{"email": {"not an email"}, "role": {"boss"}}, []string{"email", "role"}},
		{"engine", "/t/all/engines", url.Values{"name": {"-bad"}, "dialect": {"klingon"}, "base_url": {"ftp://x"}, "api_key": {long}},
			[]string{"name", "dialect", "base_url", "api_key"}},
		{"engine with a refused address", "/t/all/engines", url.Values{"name": {""}, "dialect": {"ollama"}, "base_url": {"http://169.254.169.254"}},
			[]string{"name", "base_url"}},
		{"agent", "/t/all/agents", url.Values{"name": {"Not A Slug"}, "base_url": {""}, "version": {"9"}}, []string{"name", "base_url", "version"}},
		{"MCP server", "/t/all/mcp", url.Values{"name": {"UPPER"}, "url": {"http://x/?q=1"}, "credential": {long}}, []string{"name", "url", "credential"}},
		{"issuer", "/t/all/issuers", url.Values{"issuer": {""}, "audience": {""}}, []string{"issuer", "audience"}},
		{"issuer with a long claim", "/t/all/issuers", url.Values{"issuer": {"not a url"}, "audience": {"a"}, "user_claim": {strings.Repeat("c", 101)}},
			[]string{"issuer", "user_claim"}},
		{"unreachable issuer", "/t/all/issuers", url.Values{"issuer": {"http://127.0.0.1:1"}, "audience": {""}}, []string{"issuer", "audience"}},
		{"DID sign-in", "/t/all/issuers/did", url.Values{"methods": {"nope"}, "allow": {"not-a-did"}, "audiences": {"ftp://x"}},
			[]string{"methods", "allow", "audiences"}},
		{"team", "/teams", url.Values{"slug": {"Not A Slug"}, "name": {""}}, []string{"slug", "name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantFieldErrors(t, b.post(Base+c.path, c.form), c.fields...)
		})
	}

	// Nothing was saved by any of them.
	ctx := testCtx(t)
	if keys, _, _ := e.store.ListAPIKeys(ctx, team.ID, tenants.Page{}); len(keys) != 0 {
		t.Errorf("a refused key was saved: %v", keys)
	}
	if inv, _ := e.store.ListInvites(ctx, team.ID); len(inv) != 0 {
		t.Errorf("a refused invite was saved: %v", inv)
	}
	if eng, _, _ := e.store.ListEngines(ctx, team.ID, tenants.Page{}); len(eng) != 0 {
		t.Errorf("a refused engine was saved: %v", eng)
	}
	if iss, _, _ := e.store.ListIssuers(ctx, team.ID, tenants.Page{}); len(iss) != 0 {
		t.Errorf("a refused issuer was saved: %v", iss)
	}
}

// The sign-up forms (first owner, invited person) show every error at once.
func TestSignUpFormsShowEveryError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	token, err := e.store.CreateSetupToken(testCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := formCSRF(t, b.get(Base+"/setup?token="+url.QueryEscape(token)))
	p := b.post(Base+"/setup", url.Values{"csrf": {csrf}, "token": {token}, "email": {"nobody"}, "name": {""},
		"password": {"short"}, "password2": {"other"}})
	got := wantFieldErrors(t, p, "email", "name", "password", "password2")
	wantLacks(t, p, "short")
	if got["password"] == "" || !strings.Contains(got["password"], "12") {
		t.Errorf("password error %q does not say how long", got["password"])
	}

	owner := e.user("ivy")
	e.team("door", owner)
	link := inviteLink(t, e, e.signedIn(owner), "door", "guest@example.test", "member")
	guest := e.browser()
	csrf = formCSRF(t, guest.get(link))
	p = guest.post(link+"/signup", url.Values{"csrf": {csrf}, "email": {"not an email"}, "name": {"\x01"},
		"password": {testPassword}, "password2": {"different"}})
	// A bound invite's email is the invite's, whatever is typed.
	wantFieldErrors(t, p, "name", "password2")

	anyone := anyoneInviteLink(t, e, e.signedIn(owner), "door", "member")
	csrf = formCSRF(t, guest.get(anyone))
	p = guest.post(anyone+"/signup", url.Values{"csrf": {csrf}, "email": {"not an email"}, "name": {"\x01"},
		"password": {testPassword}, "password2": {"different"}})
	wantFieldErrors(t, p, "email", "name", "password2")
}

// An issuer typed with a trailing slash that the provider's discovery
// document writes without one is the same issuer: it is saved as the
// provider writes it, which is what its tokens carry.
func TestIssuerTrailingSlash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idp := oidctest.Start(t, oidctest.Options{})
	u := e.user("tam")
	team := e.team("slash", u)
	b := e.signedIn(u)

	wantRedirect(t, b.post(Base+"/t/slash/issuers", url.Values{"issuer": {idp.Issuer() + "/"}, "audience": {"api://slash"}}),
		Base+"/t/slash/issuers?done=issuer-saved&keys=3")
	list, _, err := e.store.ListIssuers(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(list) != 1 || list[0].URL != idp.Issuer() {
		t.Fatalf("issuers %+v (%v), want one with URL %q", list, err, idp.Issuer())
	}
}

// A provider's account the store refuses is explained without field codes.
func TestSSOAccountErrorIsPlain(t *testing.T) {
	got := firstError(formErrors{"email": "Must be an email address like name@example.com"})
	if want := "the email it gives must be an email address like name@example.com."; got != want {
		t.Errorf("firstError = %q, want %q", got, want)
	}
}
