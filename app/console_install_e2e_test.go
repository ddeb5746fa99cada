package app

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// mintIn asks the console for a gateway token of team slug the way the
// chat page does, from the page the browser shows: the token, or the
// refusal as JSON.
func mintIn(ui *consoleUI, slug string) string {
	ui.t.Helper()
	return uiAwait[string](ui, `fetch("/console/t/`+slug+`/token", {
  method: "POST", credentials: "same-origin",
  headers: {"Accept": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
}).then(r => r.json()).then(b => b.token || JSON.stringify(b))`)
}

// uiAwait is uiEval for an expression whose value is a promise.
func uiAwait[T any](ui *consoleUI, expr string) T {
	ui.t.Helper()
	return browsertest.Get(ui.t, ui.Browser, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// TestConsoleE2EInstallAdmin is an install administrator's journey in a
// real Chromium: the Install section lists every team (the default one
// too, which has no members) and every user; the administrator opens the
// default team, manages its settings, joins it; then locks a user, whose
// open console page and console gateway token stop on their very next
// request, and whose sign-in is refused in plain words. Their own account
// cannot be locked; a user who is not an install administrator gets 404
// for the install's pages and for a team that is not theirs. The pages
// fit a 360 px screen.
func TestConsoleE2EInstallAdmin(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	ctx := context.Background()
	root, err := gw.store.CreateLocalUser(ctx, tenants.UserInput{Email: "root@example.test", Name: "Rita Root", Password: e2ePassword,
		EmailVerified: true, InstallAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	bob := consoleAccount(t, gw, "bob@example.test", "Bob Builder")
	teamWithEngine(t, gw, bob, "lab", eng.URL(), "tiny")
	carol := consoleAccount(t, gw, "carol@example.test", "Carol Curious")

	// Every browser first: each start clears the test's screenshot folder.
	admin, bobUI, carolUI := newConsoleUI(t), newConsoleUI(t), newConsoleUI(t)

	// Bob works in his team, with a console token for its gateway.
	bobUI.signIn(gw, bob.Email, e2ePassword)
	bobUI.open(gw.URL + "/console/t/lab/")
	token := mintIn(bobUI, "lab")
	if !strings.HasPrefix(token, "ey") {
		t.Fatalf("bob's page got no token: %s", token)
	}
	chat := func() (int, string) {
		resp, body := call(t, "POST", gw.URL+"/t/lab/api/chat", token, chatBody)
		return resp.StatusCode, body
	}
	if status, body := chat(); status != 200 {
		t.Fatalf("bob's console token: %d %s", status, body)
	}

	// Carol is no install administrator: no link, 404 for the pages.
	carolUI.signIn(gw, carol.Email, e2ePassword)
	if n := uiEval[int](carolUI, `document.querySelectorAll("#install-link").length`); n != 0 {
		t.Error("a user who is not an install administrator sees the Install link")
	}
	for _, path := range []string{"/console/install", "/console/install/users", "/console/t/default/", "/console/t/lab/members"} {
		if resp := carolUI.open(gw.URL + path); resp.Status != 404 {
			t.Errorf("carol opens %s: %d, want 404", path, resp.Status)
		}
	}
	if status := postAs(t, carolUI, gw.URL+"/console/install/users/"+bob.ID+"/lock"); status != 404 {
		t.Errorf("carol locks bob: %d, want 404", status)
	}

	// The administrator sees every team, the default one included.
	admin.signIn(gw, root.Email, e2ePassword)
	admin.click("#team-switcher summary")
	admin.clickToLoad("#install-link")
	if p := admin.location().Path; p != "/console/install" && p != "/console/install/" {
		t.Fatalf("the Install link leads to %s", p)
	}
	for _, slug := range []string{"default", "lab"} {
		admin.waitVisible("#install-team-" + slug)
	}
	if got := admin.text("#install-team-default [data-testid=no-owner]"); got != "no owner" {
		t.Errorf("the default team's owners: %q", got)
	}
	admin.shot("01-install-teams")

	// It opens the default team: a page of its own, not a 404.
	resp := admin.clickToLoad("#open-team-default")
	if resp.Status != 200 || !strings.HasPrefix(admin.location().Path, "/console/t/default") {
		t.Fatalf("opening the default team: %d at %s", resp.Status, admin.location().Path)
	}
	admin.waitVisible("[data-testid=visiting]")
	if got := admin.text("[data-testid=role]"); got != "install admin" {
		t.Errorf("a visiting administrator's role reads %q", got)
	}
	admin.shot("02-default-team-visiting")
	// As a visitor it manages the team (its settings), but the gateway
	// vouches for members only.
	if resp := admin.open(gw.URL + "/console/t/default/settings"); resp.Status != 200 {
		t.Fatalf("the default team's settings: %d", resp.Status)
	}
	admin.fill("#rename-form #name", "Default team")
	admin.clickToLoad("#rename-team")
	if got, err := gw.store.GetTeam(ctx, "default"); err != nil || got.Name != "Default team" {
		t.Fatalf("renaming the default team as an install administrator: %+v %v", got, err)
	}
	// The default team serves the root routes: it is kept.
	admin.waitVisible("[data-testid=default-team-kept]")
	if status := postAs(t, admin, gw.URL+"/console/t/default/settings/delete"); status != 409 {
		t.Errorf("deleting the default team: %d, want 409", status)
	}
	if got := mintIn(admin, "default"); strings.HasPrefix(got, "ey") || !strings.Contains(got, "not a member") {
		t.Fatalf("a visitor's console token: %s", got)
	}
	admin.clickToLoad("#join-team")
	if n := uiEval[int](admin, `document.querySelectorAll("[data-testid=visiting]").length`); n != 0 {
		t.Error("after joining, the page still says the administrator is visiting")
	}
	if role, err := gw.store.RoleOf(ctx, mustTeamID(t, gw, "default"), root.ID); err != nil || role != tenants.RoleOwner {
		t.Fatalf("after joining the default team: %v %v", role, err)
	}
	if got := mintIn(admin, "default"); !strings.HasPrefix(got, "ey") {
		t.Fatalf("a member's console token after joining: %s", got)
	}
	admin.shot("03-default-team-joined")

	// Every user; the administrator's own row has no lock.
	admin.open(gw.URL + "/console/install/users")
	admin.waitVisible("#install-user-" + bob.ID)
	if got := admin.text("#install-user-" + bob.ID + " td:nth-child(2)"); !strings.Contains(got, "lab") || !strings.Contains(got, "owner") {
		t.Errorf("bob's teams on the users page: %q", got)
	}
	if n := uiEval[int](admin, `document.querySelectorAll("#lock-`+root.ID+`-open").length`); n != 0 {
		t.Error("the administrator is offered to lock their own account")
	}
	if status := postAs(t, admin, gw.URL+"/console/install/users/"+root.ID+"/lock"); status != 409 {
		t.Errorf("locking oneself: %d, want 409", status)
	}
	admin.open(gw.URL + "/console/install/users")
	admin.shot("04-install-users")

	// Lock bob: confirm in the disclosure, redirected back with a notice.
	admin.click("#lock-" + bob.ID + "-open")
	admin.shot("05-lock-confirm")
	admin.clickToLoad("#lock-" + bob.ID)
	if got := admin.text("[data-testid=notice]"); !strings.Contains(got, "locked") {
		t.Errorf("after the lock the page says %q", got)
	}
	if got := admin.text("#install-user-" + bob.ID + " [data-testid=user-status]"); !strings.Contains(got, "locked") {
		t.Errorf("bob's status after the lock: %q", got)
	}
	admin.shot("06-locked")
	// Lab's owner page says so too (the administrator joins no team for it).
	admin.open(gw.URL + "/console/t/lab/members")
	if got := admin.text("#member-" + bob.ID + " [data-testid=member-locked]"); got != "locked" {
		t.Errorf("lab's members page shows bob as %q", got)
	}

	// Bob's open page and his token stop on their very next request.
	before := eng.hits.Load()
	status, body := chat()
	if status != 401 || errorCode(t, body) != identity.ReasonConsoleSessionEnded {
		t.Fatalf("a locked user's console token: %d %s", status, body)
	}
	if eng.hits.Load() != before {
		t.Fatal("a locked user's token reached the engine")
	}
	bobUI.open(gw.URL + "/console/t/lab/")
	if p := bobUI.location().Path; p != "/console/signin" {
		t.Fatalf("a locked user's next page is %s, want the sign-in page", p)
	}
	bobUI.fill("#email", bob.Email)
	bobUI.fill("#password", e2ePassword)
	if resp := bobUI.clickToLoad("#signin-submit"); resp.Status != 403 {
		t.Errorf("a locked user's sign-in: %d, want 403", resp.Status)
	}
	if got := bobUI.text("#signin-error"); !strings.Contains(got, "locked") {
		t.Errorf("a locked user is told %q", got)
	}
	bobUI.shot("07-locked-sign-in")

	// Unlocked, bob signs in again.
	admin.open(gw.URL + "/console/install/users")
	admin.clickToLoad("#unlock-" + bob.ID)
	bobUI.signIn(gw, bob.Email, e2ePassword)
	if p := bobUI.location().Path; !strings.HasPrefix(p, "/console/t/lab") {
		t.Fatalf("bob after unlock lands on %s", p)
	}

	// Removing bob, the only owner of lab, is refused with the team named.
	admin.open(gw.URL + "/console/install/users")
	admin.click("#remove-user-" + bob.ID + "-open")
	if resp := admin.clickToLoad("#remove-user-" + bob.ID); resp.Status != 409 {
		t.Errorf("removing lab's only owner: %d, want 409", resp.Status)
	}
	if got := admin.text("[data-testid=install-problem]"); !strings.Contains(got, "team lab") {
		t.Errorf("the refusal says %q", got)
	}
	// Carol, in no team, goes.
	admin.click("#remove-user-" + carol.ID + "-open")
	admin.clickToLoad("#remove-user-" + carol.ID)
	if _, err := gw.store.GetUser(ctx, carol.ID); err == nil {
		t.Error("carol is still there after her removal")
	}
	if p := carolUI.open(gw.URL + "/console/teams"); carolUI.location().Path != "/console/signin" {
		t.Errorf("a removed user's browser is at %s (%d)", carolUI.location().Path, p.Status)
	}

	// The install's log says who locked, unlocked and removed whom.
	admin.open(gw.URL + "/console/install/audit")
	for _, want := range []string{"user.lock", "user.unlock", "user.delete", "carol@example.test"} {
		if !strings.Contains(admin.text("#install-audit"), want) {
			t.Errorf("the install's audit log lacks %q", want)
		}
	}

	// On a phone.
	admin.Do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
	for i, path := range []string{"/console/install", "/console/install/users", "/console/install/audit"} {
		admin.open(gw.URL + path)
		if w := uiEval[int](admin, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("%s at 360 px is %d px wide and scrolls sideways", path, w)
		}
		for _, tc := range uiEval[[]tableCheck](admin, tableGeometry) {
			if !tc.Reachable {
				t.Errorf("%s at 360 px: the last column of table %s cannot be reached: %s", path, tc.ID, tc.Why)
			}
		}
		admin.shot([]string{"08-360-teams", "09-360-users", "10-360-audit"}[i])
	}
}

// postAs posts an empty form with the page's CSRF token from the page the
// browser shows, as a crafted request would, and returns the status.
func postAs(t *testing.T, ui *consoleUI, url string) int {
	t.Helper()
	return uiAwait[int](ui, `fetch(`+jsString(url)+`, {method: "POST", credentials: "same-origin",
	  headers: {"Content-Type": "application/x-www-form-urlencoded"},
	  body: "csrf=" + encodeURIComponent((document.querySelector('meta[name="csrf-token"]') || {}).content || "")}).then(r => r.status)`)
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func mustTeamID(t *testing.T, gw *gateway, slug string) string {
	t.Helper()
	team, err := gw.store.GetTeam(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return team.ID
}
