package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// anyoneInviteLink makes an invite for anyone with the link through the
// members page and returns its path.
func anyoneInviteLink(t *testing.T, e *env, b *browser, slug, role string) string {
	t.Helper()
	p := b.follow(b.post(Base+"/t/"+slug+"/members/invite", url.Values{"anyone": {"1"}, "role": {role}}))
	wantStatus(t, p, http.StatusOK)
	m := inviteLinkRE.FindStringSubmatch(p.Body)
	if m == nil || !strings.HasPrefix(m[1], e.URL+Base+"/invite/") {
		t.Fatalf("no invite link in the page: %.800s", p.Body)
	}
	return strings.TrimPrefix(m[1], e.URL)
}

// A bound invite's sign-up makes the account for the invited address,
// whatever the form says, and the account counts as verified.
func TestBoundInviteSignUpIsForTheInvitedAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("hal")
	team := e.team("crew", owner)
	ob := e.signedIn(owner)
	link := inviteLink(t, e, ob, "crew", "nia@example.test", "member")

	b := e.browser()
	page := b.get(link)
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, `data-testid="invite-for">nia@example.test`, `value="nia@example.test"`, "readonly",
		`data-testid="email-fixed">The account is created for nia@example.test`)
	p := b.post(link+"/signup", url.Values{"csrf": {formCSRF(t, page)}, "email": {"mallory@example.test"}, "name": {"Nia"},
		"password": {testPassword}, "password2": {testPassword}})
	wantRedirect(t, p, Base+"/t/crew?done=joined")
	u, err := e.store.GetUserByEmail(testCtx(t), "nia@example.test")
	if err != nil || !u.EmailVerified {
		t.Fatalf("account = %+v, %v; want nia's, verified", u, err)
	}
	if _, err := e.store.GetUserByEmail(testCtx(t), "mallory@example.test"); err == nil {
		t.Fatal("the typed address was used instead of the invited one")
	}
	if r, err := e.store.RoleOf(testCtx(t), team.ID, u.ID); err != nil || r != tenants.RoleMember {
		t.Fatalf("role %q, %v", r, err)
	}
	// Single use: the link is spent.
	wantStatus(t, e.browser().get(link), http.StatusNotFound)
	b2 := e.browser()
	wantStatus(t, b2.post(link+"/signup", url.Values{"csrf": {formCSRF(t, b2.get(Base+"/signin"))}, "email": {"x@example.test"}}), http.StatusNotFound)
}

// Signed in with another address, a bound invite answers a page that says
// whom it is for, and joining is refused, not failed.
func TestBoundInviteRefusesAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, joe := e.user("ida"), e.user("joe")
	team := e.team("ops", owner)
	link := inviteLink(t, e, e.signedIn(owner), "ops", "kim@example.test", "viewer")

	jb := e.signedIn(joe)
	page := jb.get(link)
	wantStatus(t, page, http.StatusForbidden)
	wantContains(t, page, `data-testid="invite-refused"`, "This invite is for kim@example.test, and you are signed in as joe@example.test")
	p := jb.post(link, nil)
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "This invite is for kim@example.test")
	if _, err := e.store.RoleOf(testCtx(t), team.ID, joe.ID); err == nil {
		t.Fatal("joe joined with kim's invite")
	}
	wantStatus(t, e.browser().get(link), http.StatusOK) // still kim's to use
}

// An "anyone with the link" invite is labelled as such, takes any new
// address, never an existing account's, and works once.
func TestAnyoneInviteInConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("hal")
	e.localUser("taken@example.test")
	team := e.team("crew", owner)
	ob := e.signedIn(owner)

	p := ob.post(Base+"/t/crew/members/invite", url.Values{"anyone": {"1"}, "email": {"x@example.test"}, "role": {"member"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="email-error"`)
	p = ob.post(Base+"/t/crew/members/invite", url.Values{"role": {"member"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="email-error"`)

	p = ob.follow(ob.post(Base+"/t/crew/members/invite", url.Values{"anyone": {"1"}, "role": {"viewer"}}))
	wantContains(t, p, "Invite for anyone with the link ready", `data-testid="invite-anyone">anyone with the link`)
	m := inviteLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no link: %.600s", p.Body)
	}
	link := strings.TrimPrefix(m[1], e.URL)
	audit := ob.get(Base + "/t/crew/audit")
	wantContains(t, audit, "anyone with the link")

	b := e.browser()
	page := b.get(link)
	wantContains(t, page, `data-testid="invite-for">anyone with the link`, `data-testid="anyone-hint"`)
	if strings.Contains(page.Body, "readonly") {
		t.Fatal("an anyone invite fixes the email")
	}
	csrf := formCSRF(t, page)
	p = b.post(link+"/signup", url.Values{"csrf": {csrf}, "email": {"TAKEN@example.test"}, "name": {"Mal"},
		"password": {testPassword}, "password2": {testPassword}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, "sign in instead")
	p = b.post(link+"/signup", url.Values{"csrf": {csrf}, "email": {"val@example.test"}, "name": {"Val"},
		"password": {testPassword}, "password2": {testPassword}})
	wantRedirect(t, p, Base+"/t/crew?done=joined")
	u, err := e.store.GetUserByEmail(testCtx(t), "val@example.test")
	if err != nil || u.EmailVerified {
		t.Fatalf("account = %+v, %v; want val's, unverified", u, err)
	}
	if r, _ := e.store.RoleOf(testCtx(t), team.ID, u.ID); r != tenants.RoleViewer {
		t.Fatalf("role %q", r)
	}
	wantStatus(t, e.browser().get(link), http.StatusNotFound)
}

// Through single sign-on, the provider's verified email must be the
// invite's: the right person joins, anyone else is told whom it is for,
// and an address the provider did not verify is not enough.
func TestBoundInviteThroughSSO(t *testing.T) {
	t.Parallel()
	e, _ := ssoEnv(t)
	owner := e.user("hal")
	team := e.team("crew", owner)
	ob := e.signedIn(owner)

	// Wrong person.
	link := inviteLink(t, e, ob, "crew", "grace@example.test", "member")
	wb := e.browser()
	p := wb.get(loginAtProvider(t, wb, startSSO(t, wb, link), "mallory").RequestURI())
	wantRedirect(t, p, link)
	p = wb.get(link)
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "This invite is for grace@example.test, and you are signed in as mallory@example.test")
	wrongCSRF := formCSRF(t, p)
	p = wb.post(link, url.Values{"csrf": {wrongCSRF}})
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "This invite is for grace@example.test")

	// Right person.
	gb := e.browser()
	p = gb.get(loginAtProvider(t, gb, startSSO(t, gb, link), "grace").RequestURI())
	wantRedirect(t, p, link)
	p = gb.get(link)
	wantContains(t, p, `id="accept-invite"`)
	wantRedirect(t, gb.post(link, url.Values{"csrf": {formCSRF(t, p)}}), Base+"/t/crew?done=joined")
	grace, err := e.store.GetUserByEmail(testCtx(t), "grace@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := e.store.RoleOf(testCtx(t), team.ID, grace.ID); err != nil || r != tenants.RoleMember {
		t.Fatalf("grace's role %q, %v", r, err)
	}
	// Reuse of the spent link.
	wantStatus(t, wb.post(link, url.Values{"csrf": {wrongCSRF}}), http.StatusNotFound)

	// The provider names the address but did not verify it.
	link2 := inviteLink(t, e, ob, "crew", "unverified-zed@example.test", "member")
	zb := e.browser()
	zb.get(loginAtProvider(t, zb, startSSO(t, zb, link2), "unverified-zed").RequestURI())
	p = zb.get(link2)
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "never verified")
}

// The real owner of an address signs in through single sign-on after
// someone joined with that address through an "anyone" link: the owner
// gets their own account, and the other keeps their team but not the
// address.
func TestSSOOwnerIsNotLockedOutByALinkJoiner(t *testing.T) {
	t.Parallel()
	e, _ := ssoEnv(t)
	owner := e.user("hal")
	team := e.team("crew", owner)
	ob := e.signedIn(owner)
	link := anyoneInviteLink(t, e, ob, "crew", "member")
	sb := e.browser()
	page := sb.get(link)
	wantRedirect(t, sb.post(link+"/signup", url.Values{"csrf": {formCSRF(t, page)}, "email": {"ceo@example.test"}, "name": {"Not the CEO"},
		"password": {testPassword}, "password2": {testPassword}}), Base+"/t/crew?done=joined")
	squatter, err := e.store.GetUserByEmail(testCtx(t), "ceo@example.test")
	if err != nil {
		t.Fatal(err)
	}

	cb := e.browser()
	p := cb.get(loginAtProvider(t, cb, startSSO(t, cb, Base+"/teams"), "ceo").RequestURI())
	wantRedirect(t, p, Base+"/teams")
	ceo, err := e.store.GetUserByEmail(testCtx(t), "ceo@example.test")
	if err != nil || ceo.ID == squatter.ID || ceo.HasPassword || !ceo.EmailVerified {
		t.Fatalf("ceo account = %+v, %v; want a new verified one", ceo, err)
	}
	if _, err := e.store.RoleOf(testCtx(t), team.ID, ceo.ID); err == nil {
		t.Fatal("the owner of the address inherited the link joiner's team")
	}
	// The joiner was signed out and their password no longer opens the address.
	wantRedirect(t, sb.get(Base+"/teams"), Base+"/signin?next=%2Fconsole%2Fteams")
	if r, err := e.store.RoleOf(testCtx(t), team.ID, squatter.ID); err != nil || r != tenants.RoleMember {
		t.Fatalf("joiner's membership %q, %v", r, err)
	}
}

// An account made through a bound invite proved its address: signing in
// later through single sign-on with that verified address is the same
// person, and finds the same account with its teams.
func TestSSOLinksAnInvitedPasswordAccount(t *testing.T) {
	t.Parallel()
	e, idp := ssoEnv(t)
	owner := e.user("hal")
	team := e.team("crew", owner)
	link := inviteLink(t, e, e.signedIn(owner), "crew", "lin@example.test", "member")
	b := e.browser()
	page := b.get(link)
	wantRedirect(t, b.post(link+"/signup", url.Values{"csrf": {formCSRF(t, page)}, "name": {"Lin"},
		"password": {testPassword}, "password2": {testPassword}}), Base+"/t/crew?done=joined")
	lin, err := e.store.GetUserByEmail(testCtx(t), "lin@example.test")
	if err != nil {
		t.Fatal(err)
	}

	sb := e.browser()
	p := sb.get(loginAtProvider(t, sb, startSSO(t, sb, Base+"/t/crew"), "lin").RequestURI())
	wantRedirect(t, p, Base+"/t/crew")
	_, u, err := e.store.GetSession(testCtx(t), sessionCookie(t, p, "attach_session").Value)
	if err != nil || u.ID != lin.ID || u.OIDCIssuer != idp.Issuer() {
		t.Fatalf("sso signed in as %+v (%v), want lin's account %s linked", u, err, lin.ID)
	}
	if r, err := e.store.RoleOf(testCtx(t), team.ID, u.ID); err != nil || r != tenants.RoleMember {
		t.Fatalf("role %q, %v", r, err)
	}
}
