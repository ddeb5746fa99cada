package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

var inviteLinkRE = regexp.MustCompile(`id="invite-link"[^>]*>([^<]+)<`)

// inviteLink makes an invite through the members page and returns its path.
func inviteLink(t *testing.T, e *env, b *browser, slug, email, role string) string {
	t.Helper()
	p := b.follow(b.post(Base+"/t/"+slug+"/members/invite", url.Values{"email": {email}, "role": {role}}))
	wantStatus(t, p, http.StatusOK)
	m := inviteLinkRE.FindStringSubmatch(p.Body)
	if m == nil || !strings.HasPrefix(m[1], e.URL+Base+"/invite/") {
		t.Fatalf("no invite link in the page: %.800s", p.Body)
	}
	return strings.TrimPrefix(m[1], e.URL)
}

func TestInviteNewAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("hal")
	team := e.team("crew", owner)
	ob := e.signedIn(owner)

	p := ob.post(Base+"/t/crew/members/invite", url.Values{"email": {"not an email"}, "role": {"member"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="email-error"`, `value="not an email"`)

	link := inviteLink(t, e, ob, "crew", "new@example.test", "member")
	wantContains(t, ob.get(Base+"/t/crew/members"), `data-testid="invite-row"`, "new@example.test")

	b := e.browser()
	page := b.get(link)
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, "Join Team crew", `data-testid="invite-role">member`, `value="new@example.test"`, `id="invite-signin"`)
	csrf := formCSRF(t, page)

	p = b.post(link+"/signup", url.Values{"csrf": {csrf}, "email": {"new@example.test"}, "name": {"Nia New"},
		"password": {testPassword}, "password2": {"different"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="password2-error"`, `value="Nia New"`)
	wantStatus(t, b.post(link+"/signup", url.Values{"email": {"new@example.test"}}), http.StatusForbidden)

	p = b.post(link+"/signup", url.Values{"csrf": {csrf}, "email": {"new@example.test"}, "name": {"Nia New"},
		"password": {testPassword}, "password2": {testPassword}})
	wantRedirect(t, p, Base+"/t/crew?done=joined")
	home := b.get(Base + "/t/crew?done=joined")
	wantContains(t, home, "You joined the team.", `data-testid="role">member`)

	members, err := e.store.ListMembers(testCtx(t), team.ID)
	if err != nil || len(members) != 2 {
		t.Fatalf("members %+v, %v", members, err)
	}
	// The link is spent.
	wantStatus(t, e.browser().get(link), http.StatusNotFound)
	wantStatus(t, e.browser().get(Base+"/invite/nonsense"), http.StatusNotFound)
}

func TestInviteSignedInAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, joe := e.user("ida"), e.user("joe")
	team := e.team("ops", owner)
	ob := e.signedIn(owner)

	link := inviteLink(t, e, ob, "ops", "joe@example.test", "viewer")
	jb := e.signedIn(joe)
	page := jb.get(link)
	wantContains(t, page, `id="accept-invite"`, "User joe")
	wantStatus(t, jb.post(link, url.Values{"csrf": {"wrong"}}), http.StatusForbidden)
	wantRedirect(t, jb.post(link, nil), Base+"/t/ops?done=joined")
	if r, err := e.store.RoleOf(testCtx(t), team.ID, joe.ID); err != nil || r != tenants.RoleViewer {
		t.Fatalf("joe's role %q, %v", r, err)
	}

	// A revoked invite's link stops working.
	link2 := inviteLink(t, e, ob, "ops", "kim@example.test", "member")
	invites, err := e.store.ListInvites(testCtx(t), team.ID)
	if err != nil || len(invites) != 1 {
		t.Fatalf("invites %+v, %v", invites, err)
	}
	wantRedirect(t, ob.post(Base+"/t/ops/invites/"+invites[0].ID+"/revoke", nil), Base+"/t/ops/members?done=invite-revoked")
	wantStatus(t, e.browser().get(link2), http.StatusNotFound)
	wantContains(t, ob.get(Base+"/t/ops/members"), `data-testid="no-invites"`)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, admin, mem := e.user("kai"), e.user("lea"), e.user("max")
	team := e.team("roles", owner)
	e.member(team, admin, tenants.RoleAdmin)
	e.member(team, mem, tenants.RoleMember)
	ob, ab := e.signedIn(owner), e.signedIn(admin)
	role := func(u tenants.User) tenants.Role {
		r, err := e.store.RoleOf(testCtx(t), team.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// An admin manages those below owner...
	wantRedirect(t, ab.post(Base+"/t/roles/members/"+mem.ID+"/role", url.Values{"role": {"viewer"}}), Base+"/t/roles/members?done=role-changed")
	if role(mem) != tenants.RoleViewer {
		t.Fatal("role not changed")
	}
	// ...but neither makes nor touches owners.
	wantStatus(t, ab.post(Base+"/t/roles/members/"+mem.ID+"/role", url.Values{"role": {"owner"}}), http.StatusForbidden)
	wantStatus(t, ab.post(Base+"/t/roles/members/"+owner.ID+"/role", url.Values{"role": {"member"}}), http.StatusForbidden)
	wantStatus(t, ab.post(Base+"/t/roles/members/"+owner.ID+"/remove", nil), http.StatusForbidden)
	wantStatus(t, ab.post(Base+"/t/roles/members/invite", url.Values{"email": {"o@example.test"}, "role": {"owner"}}), http.StatusForbidden)
	if role(mem) != tenants.RoleViewer || role(owner) != tenants.RoleOwner {
		t.Fatal("a refused change changed a role")
	}
	ap := ab.get(Base + "/t/roles/members")
	wantLacks(t, ap, `id="set-role-`+owner.ID+`"`, `id="remove-`+owner.ID+`"`, `<option value="owner"`)
	wantContains(t, ap, `id="set-role-`+mem.ID+`"`)

	// The last owner can neither step down nor be removed.
	p := ob.post(Base+"/t/roles/members/"+owner.ID+"/role", url.Values{"role": {"admin"}})
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "A team needs at least one owner")
	p = ob.post(Base+"/t/roles/members/"+owner.ID+"/remove", nil)
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, `data-testid="members-problem"`)

	// An owner makes another owner, who may then remove the first.
	wantRedirect(t, ob.post(Base+"/t/roles/members/"+admin.ID+"/role", url.Values{"role": {"owner"}}), Base+"/t/roles/members?done=role-changed")
	wantRedirect(t, ab.post(Base+"/t/roles/members/"+owner.ID+"/remove", nil), Base+"/t/roles/members?done=member-removed")
	if _, err := e.store.RoleOf(testCtx(t), team.ID, owner.ID); err == nil {
		t.Fatal("the removed owner is still a member")
	}
	wantStatus(t, ob.get(Base+"/t/roles"), http.StatusNotFound)

	wantStatus(t, ab.post(Base+"/t/roles/members/"+mem.ID+"/role", url.Values{"role": {"emperor"}}), http.StatusUnprocessableEntity)
	wantStatus(t, ab.post(Base+"/t/roles/members/"+owner.ID+"/role", url.Values{"role": {"member"}}), http.StatusNotFound)
}
