package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// auditOf lists the audit log of team ("" install-wide), newest first.
func auditOf(t *testing.T, e *env, team string) []tenants.AuditEntry {
	t.Helper()
	list, _, err := e.store.ListAudit(testCtx(t), team, tenants.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func findAudit(list []tenants.AuditEntry, action string) *tenants.AuditEntry {
	for i := range list {
		if list[i].Action == action {
			return &list[i]
		}
	}
	return nil
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada")
	b := e.signedIn(u)

	p := b.get(Base + "/account")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="account-link"`, "ada@example.test", `value="User ada"`)

	// Without the CSRF token nothing changes.
	wantStatus(t, b.post(Base+"/account/name", url.Values{"name": {"Forged"}, "csrf": {"nope"}}), http.StatusForbidden)

	p = b.post(Base+"/account/name", url.Values{"name": {"   "}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="name-error"`, "1 to 100 characters")

	p = b.post(Base+"/account/name", url.Values{"name": {"  Ada Lovelace "}})
	wantRedirect(t, p, Base+"/account?done=name-saved")
	p = b.follow(p)
	wantContains(t, p, "Name saved.", `value="Ada Lovelace"`, `>Ada Lovelace</a>`)
	got, err := e.store.GetUser(testCtx(t), u.ID)
	if err != nil || got.Name != "Ada Lovelace" {
		t.Fatalf("name %q (%v), want Ada Lovelace", got.Name, err)
	}
	a := findAudit(auditOf(t, e, ""), tenants.AuditUserUpdate)
	if a == nil || a.ActorID != u.ID || a.TargetID != u.ID {
		t.Fatalf("no user.update by ada in the install's log: %+v", a)
	}
	ch, _ := a.Detail["changes"].(map[string]any)
	name, _ := ch["name"].(map[string]any)
	if name["from"] != "User ada" || name["to"] != "Ada Lovelace" {
		t.Errorf("audit detail %v, want the name from and to", a.Detail)
	}
}

func TestAccountPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.localUser("ada@example.test")
	b := e.signedIn(u)
	other := e.signedIn(u)

	wantContains(t, b.get(Base+"/account"), `id="password-form"`, `autocomplete="current-password"`)

	// A wrong current password, a weak new one and a mistyped repeat are
	// all shown at once, and nothing changes.
	p := b.post(Base+"/account/password", url.Values{
		"current_password": {"not my password at all"}, "password": {"short"}, "confirm_password": {"shorter"},
	})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="current_password-error"`, "This is not your current password",
		`data-testid="password-error"`, "Must be 12 to 1024 characters", `data-testid="confirm_password-error"`)
	wantLacks(t, p, "not my password at all", `value="short"`)
	// The right current password with a weak new one: the new one's fault.
	p = b.post(Base+"/account/password", url.Values{
		"current_password": {testPassword}, "password": {"short"}, "confirm_password": {"short"},
	})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="password-error"`)
	wantLacks(t, p, `data-testid="current_password-error"`)
	if _, err := e.store.AuthenticatePassword(testCtx(t), u.Email, testPassword); err != nil {
		t.Fatalf("the old password stopped working after refused changes: %v", err)
	}
	wantStatus(t, other.get(Base+"/account"), http.StatusOK)

	// CSRF.
	wantStatus(t, b.post(Base+"/account/password", url.Values{"csrf": {""},
		"current_password": {testPassword}, "password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}}),
		http.StatusForbidden)

	const fresh = "a brand new passphrase"
	p = b.post(Base+"/account/password", url.Values{
		"current_password": {testPassword}, "password": {fresh}, "confirm_password": {fresh},
	})
	wantRedirect(t, p, Base+"/account?done=password-changed")
	wantContains(t, b.follow(p), "Every other session of yours is signed out.")
	// This session goes on; the other is signed out.
	wantStatus(t, b.get(Base+"/account"), http.StatusOK)
	wantStatus(t, other.get(Base+"/account"), http.StatusSeeOther)
	if _, err := e.store.AuthenticatePassword(testCtx(t), u.Email, testPassword); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := e.store.AuthenticatePassword(testCtx(t), u.Email, fresh); err != nil {
		t.Fatalf("the new password does not work: %v", err)
	}
	a := findAudit(auditOf(t, e, ""), tenants.AuditUserPassword)
	if a == nil || a.ActorID != u.ID {
		t.Fatalf("no user.password by ada: %+v", a)
	}
	for _, entry := range auditOf(t, e, "") {
		if s := entry.ActorName + entry.TargetName + strings.Join(mapValues(entry.Detail), " "); strings.Contains(s, fresh) || strings.Contains(s, testPassword) {
			t.Fatalf("a password is in the audit log: %+v", entry)
		}
	}
	if strings.Contains(e.logs.String(), fresh) || strings.Contains(e.logs.String(), testPassword) {
		t.Fatal("a password is in the logs")
	}

	// An account without a password is told who manages it and cannot set one.
	sso := e.signedIn(e.user("grace"))
	p = sso.get(Base + "/account")
	wantContains(t, p, `data-testid="password-managed"`)
	wantLacks(t, p, `id="password-form"`)
	wantStatus(t, sso.post(Base+"/account/password", url.Values{
		"current_password": {"x"}, "password": {fresh}, "confirm_password": {fresh}}), http.StatusConflict)
}

func mapValues(m map[string]any) []string {
	var out []string
	for k, v := range m {
		out = append(out, k)
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada")
	b := e.signedIn(u)
	two := e.signedIn(u)
	three := e.signedIn(u)
	stranger := e.signedIn(e.user("bob"))

	p := b.get(Base + "/account")
	wantStatus(t, p, http.StatusOK)
	if n := strings.Count(p.Body, `data-testid="session-row"`); n != 3 {
		t.Fatalf("%d session rows, want 3", n)
	}
	if n := strings.Count(p.Body, `data-testid="this-session"`); n != 1 {
		t.Fatalf("%d sessions marked as this one, want 1", n)
	}
	for _, other := range []*browser{b, two, three} {
		if tok := other.cookie("attach_session"); strings.Contains(p.Body, tok) {
			t.Fatal("the page holds a session's cookie token")
		}
	}
	refTwo, _ := tenants.SessionRef(two.cookie("attach_session"))
	refMine, _ := tenants.SessionRef(b.cookie("attach_session"))
	refStranger, _ := tenants.SessionRef(stranger.cookie("attach_session"))
	wantContains(t, p, Base+"/account/sessions/"+refTwo+"/end")
	wantLacks(t, p, Base+"/account/sessions/"+refMine+"/end", refStranger)

	// CSRF, this session, and a session of someone else are refused.
	wantStatus(t, b.post(Base+"/account/sessions/"+refTwo+"/end", url.Values{"csrf": {"forged"}}), http.StatusForbidden)
	wantStatus(t, b.post(Base+"/account/sessions/"+refMine+"/end", nil), http.StatusBadRequest)
	wantStatus(t, b.post(Base+"/account/sessions/"+refStranger+"/end", nil), http.StatusNotFound)
	wantStatus(t, b.post(Base+"/account/sessions/not-a-ref/end", nil), http.StatusNotFound)
	wantStatus(t, stranger.get(Base+"/account"), http.StatusOK)
	wantStatus(t, two.get(Base+"/account"), http.StatusOK)

	p = b.post(Base+"/account/sessions/"+refTwo+"/end", nil)
	wantRedirect(t, p, Base+"/account?done=session-ended")
	wantStatus(t, two.get(Base+"/account"), http.StatusSeeOther)
	wantStatus(t, three.get(Base+"/account"), http.StatusOK)
	if a := findAudit(auditOf(t, e, ""), tenants.AuditSessionEnd); a == nil || a.ActorID != u.ID {
		t.Fatalf("no session.end by ada: %+v", a)
	}

	wantRedirect(t, b.post(Base+"/account/sessions/end-others", nil), Base+"/account?done=sessions-ended")
	wantStatus(t, three.get(Base+"/account"), http.StatusSeeOther)
	p = b.get(Base + "/account")
	wantStatus(t, p, http.StatusOK)
	if n := strings.Count(p.Body, `data-testid="session-row"`); n != 1 {
		t.Fatalf("%d session rows after ending the others, want 1", n)
	}
	wantStatus(t, stranger.get(Base+"/account"), http.StatusOK)
}

func TestAccountLeaveTeam(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada, bob := e.user("ada"), e.user("bob")
	team := e.team("alpha", ada)
	e.member(team, bob, tenants.RoleAdmin)
	other := e.team("beta", e.user("carol"))
	ab, bb := e.signedIn(ada), e.signedIn(bob)

	p := bb.get(Base + "/account")
	wantContains(t, p, `data-testid="account-team-row"`, Base+"/account/teams/"+team.ID+"/leave", "Leave team")

	wantStatus(t, bb.post(Base+"/account/teams/"+team.ID+"/leave", url.Values{"csrf": {"forged"}}), http.StatusForbidden)
	wantStatus(t, bb.post(Base+"/account/teams/"+other.ID+"/leave", nil), http.StatusNotFound)

	// The last owner cannot leave, and is told why.
	p = ab.post(Base+"/account/teams/"+team.ID+"/leave", nil)
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, `data-testid="team-problem"`, "last owner of Team alpha", "at least one owner")
	if r, err := e.store.RoleOf(testCtx(t), team.ID, ada.ID); err != nil || r != tenants.RoleOwner {
		t.Fatalf("ada is %q (%v) after a refused leave, want owner", r, err)
	}

	p = bb.post(Base+"/account/teams/"+team.ID+"/leave", nil)
	wantRedirect(t, p, Base+"/account?done=team-left")
	p = bb.follow(p)
	wantContains(t, p, "You left the team.", `data-testid="no-teams"`)
	if _, err := e.store.RoleOf(testCtx(t), team.ID, bob.ID); err == nil {
		t.Fatal("bob is still a member")
	}
	wantStatus(t, bb.get(teamURL("alpha", "/")), http.StatusNotFound)
	a := findAudit(auditOf(t, e, team.ID), tenants.AuditMemberLeave)
	if a == nil || a.ActorID != bob.ID || a.TargetID != bob.ID || a.Detail["role"] != "admin" {
		t.Fatalf("no member.leave by bob in the team's log: %+v", a)
	}
}
