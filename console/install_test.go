package console

import (
	"net/url"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestInstallPages walks the install's pages over HTTP: hidden (404) from
// anyone but an install administrator, each change CSRF-checked and
// answered with a redirect; a lock signs the user's browser out at once;
// an administrator neither locks nor removes themselves nor a team's only
// owner; a visiting administrator manages a team, may not call its
// gateway until they join it.
func TestInstallPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	root, bob, carol := e.user("root"), e.user("bob"), e.user("carol")
	if _, err := e.store.SetInstallAdmin(ctx, root.ID, true); err != nil {
		t.Fatal(err)
	}
	lab := e.team("lab", bob)
	admin, bobB, carolB := e.signedIn(root), e.signedIn(bob), e.signedIn(carol)

	for _, path := range []string{"/install", "/install/users"} {
		wantStatus(t, carolB.get(Base+path), 404)
		p := admin.get(Base + path)
		wantStatus(t, p, 200)
		wantContains(t, p, "Team lab", "install-nav-users")
	}
	wantStatus(t, carolB.post(Base+"/install/users/"+bob.ID+"/lock", nil), 404)
	wantStatus(t, carolB.get(Base+"/t/lab/"), 404)
	wantContains(t, admin.get(Base+"/install/users"), "bob@example.test", "lock-"+bob.ID, "remove-user-"+carol.ID)
	wantStatus(t, admin.get(Base+"/install/users?after=nope"), 400)
	wantStatus(t, carolB.get(Base+"/install/audit"), 404)

	// Without the session's CSRF token nothing changes.
	wantStatus(t, admin.post(Base+"/install/users/"+bob.ID+"/lock", url.Values{"csrf": {"forged"}}), 403)
	if u, _ := e.store.GetUser(ctx, bob.ID); u.LockedAt != nil {
		t.Fatal("a forged lock locked bob")
	}
	wantStatus(t, bobB.get(Base+"/t/lab/"), 200)
	wantRedirect(t, admin.post(Base+"/install/users/"+bob.ID+"/lock", nil), Base+"/install/users?done=user-locked")
	wantRedirect(t, bobB.get(Base+"/t/lab/"), Base+"/signin?next=%2Fconsole%2Ft%2Flab%2F")
	wantContains(t, admin.get(Base+"/install/users?done=user-locked"), "User locked", "unlock-"+bob.ID)
	wantRedirect(t, admin.post(Base+"/install/users/"+bob.ID+"/unlock", nil), Base+"/install/users?done=user-unlocked")
	p := admin.get(Base + "/install/audit")
	wantStatus(t, p, 200)
	wantContains(t, p, tenants.AuditUserLock, tenants.AuditUserUnlock, "bob@example.test")

	// Another install administrator, and back.
	wantRedirect(t, admin.post(Base+"/install/users/"+carol.ID+"/install-admin", nil), Base+"/install/users?done=install-admin-on")
	wantStatus(t, carolB.get(Base+"/install"), 200)
	wantRedirect(t, admin.post(Base+"/install/users/"+carol.ID+"/install-admin/remove", nil), Base+"/install/users?done=install-admin-off")
	wantStatus(t, carolB.get(Base+"/install"), 404)
	wantStatus(t, admin.post(Base+"/install/users/"+root.ID+"/install-admin/remove", nil), 409)

	// Refusals, on the page.
	p = admin.post(Base+"/install/users/"+root.ID+"/lock", nil)
	wantStatus(t, p, 409)
	wantContains(t, p, "You cannot lock your own account")
	wantStatus(t, admin.post(Base+"/install/users/"+root.ID+"/remove", nil), 409)
	p = admin.post(Base+"/install/users/"+bob.ID+"/remove", nil)
	wantStatus(t, p, 409)
	wantContains(t, p, "only owner of team lab")
	wantStatus(t, admin.post(Base+"/install/users/0190a3c5-0000-7000-8000-00000000dead/lock", nil), 404)
	if u, _ := e.store.GetUser(ctx, root.ID); u.LockedAt != nil {
		t.Fatal("the administrator locked themselves")
	}

	// Visiting lab: its pages open, its members can be managed, its
	// gateway waits for a join.
	p = admin.get(Base + "/t/lab/members")
	wantStatus(t, p, 200)
	wantContains(t, p, `data-testid="visiting"`, "join-team", "remove-"+bob.ID)
	if tok := admin.postJSON(Base+"/t/lab/token", admin.csrf); tok.StatusCode != 403 || jsonErrorCode(t, tok) != attach.CodeForbidden {
		t.Fatalf("a visitor's token: %d %s", tok.StatusCode, tok.Body)
	}
	wantRedirect(t, admin.post(Base+"/t/lab/join", nil), Base+"/t/lab?done=joined")
	if r, err := e.store.RoleOf(ctx, lab.ID, root.ID); err != nil || r != tenants.RoleOwner {
		t.Fatalf("after joining: %v %v", r, err)
	}
	wantLacks(t, admin.get(Base+"/t/lab/members"), `data-testid="visiting"`)
	wantStatus(t, admin.postJSON(Base+"/t/lab/token", admin.csrf), 200)

	// Carol, in no team, is removed; her browser is signed out.
	wantRedirect(t, admin.post(Base+"/install/users/"+carol.ID+"/remove", nil), Base+"/install/users?done=user-removed")
	wantRedirect(t, carolB.get(Base+"/teams"), Base+"/signin?next=%2Fconsole%2Fteams")
}
