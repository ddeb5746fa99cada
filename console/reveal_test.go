package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// A key's secret is shown on the page the create redirects to, once: a
// reload shows no secret and makes no second key, and another session of
// the same user loading that page sees nothing either.
func TestKeySecretShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ria")
	team := e.team("once", u)
	b := e.signedIn(u)

	post := b.post(Base+"/t/once/keys", url.Values{"name": {"deploy"}})
	wantStatus(t, post, http.StatusSeeOther)
	loc := post.Header.Get("Location")
	if !strings.HasPrefix(loc, Base+"/t/once/keys?created=") {
		t.Fatalf("create redirects to %q", loc)
	}
	wantLacks(t, post, "atk_")
	if strings.Contains(loc, "atk_") {
		t.Fatal("the secret is in the URL")
	}
	// Another session of the same user, given the URL, sees no secret.
	other := e.signedIn(u)
	seen := other.get(loc)
	wantLacks(t, seen, `id="new-key-secret"`)

	first := b.get(loc)
	wantStatus(t, first, http.StatusOK)
	m := secretRE.FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("no secret on the first load: %.1500s", first.Body)
	}
	secret := m[1]
	wantContains(t, first, "Key deploy created")
	wantLacks(t, seen, secret)

	again := b.get(loc)
	wantStatus(t, again, http.StatusOK)
	wantLacks(t, again, secret, `id="new-key-secret"`)
	wantContains(t, again, `data-testid="key-already-shown"`, "revoke the key and create a new one")

	keys, _, err := e.store.ListAPIKeys(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(keys) != 1 {
		t.Fatalf("after a reload the team has %d keys (%v), want 1", len(keys), err)
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the key's secret reached the log")
	}
}

// The cookie that carries the secret is sealed and bound to the session
// that made it: copied into another session's browser it shows nothing.
func TestKeySecretBoundToSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("sol")
	e.team("bound", u)
	b := e.signedIn(u)

	post := b.post(Base+"/t/bound/keys", url.Values{"name": {"k"}})
	wantStatus(t, post, http.StatusSeeOther)
	held := b.cookie("attach_reveal")
	if held == "" {
		t.Fatal("no reveal cookie after the create")
	}
	if strings.Contains(held, "atk_") {
		t.Fatal("the reveal cookie carries the secret in the clear")
	}

	thief := e.signedIn(u)
	base, _ := url.Parse(e.URL)
	thief.c.Jar.SetCookies(base, []*http.Cookie{{Name: "attach_reveal", Value: held, Path: "/"}})
	wantLacks(t, thief.get(post.Header.Get("Location")), `id="new-key-secret"`)

	// A tampered cookie shows nothing and is dropped.
	tampered := e.signedIn(u)
	tampered.c.Jar.SetCookies(base, []*http.Cookie{{Name: "attach_reveal", Value: "x" + held[1:], Path: "/"}})
	wantLacks(t, tampered.get(post.Header.Get("Location")), `id="new-key-secret"`)

	// The maker still sees it, once.
	wantContains(t, b.get(post.Header.Get("Location")), `id="new-key-secret"`)
	if b.cookie("attach_reveal") != "" {
		t.Error("the reveal cookie outlives the page that showed it")
	}
}

// An invite link is shown once the same way: a reload shows no link and
// makes no second invite.
func TestInviteLinkShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ida")
	team := e.team("inv", u)
	b := e.signedIn(u)

	post := b.post(Base+"/t/inv/members/invite", url.Values{"email": {"new@example.test"}, "role": {"member"}})
	wantStatus(t, post, http.StatusSeeOther)
	loc := post.Header.Get("Location")
	if !strings.HasPrefix(loc, Base+"/t/inv/members?invited=") || strings.Contains(loc, "/invite/") {
		t.Fatalf("invite redirects to %q", loc)
	}
	other := e.signedIn(u)
	wantLacks(t, other.get(loc), `id="invite-link"`, "/console/invite/")

	first := b.get(loc)
	m := inviteLinkRE.FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("no invite link on the first load: %.1500s", first.Body)
	}
	wantContains(t, first, "Invite for new@example.test ready")

	again := b.get(loc)
	wantLacks(t, again, m[1], `id="invite-link"`)
	wantContains(t, again, `data-testid="invite-already-shown"`, "revoke the invite and create a new one")

	invites, err := e.store.ListInvites(testCtx(t), team.ID)
	if err != nil || len(invites) != 1 {
		t.Fatalf("after a reload the team has %d invites (%v), want 1", len(invites), err)
	}
	// The link shown works.
	wantStatus(t, e.browser().get(strings.TrimPrefix(m[1], e.URL)), http.StatusOK)
	if strings.Contains(e.logs.String(), strings.TrimPrefix(m[1], e.URL+Base+"/invite/")) {
		t.Error("the invite token reached the log")
	}
}
