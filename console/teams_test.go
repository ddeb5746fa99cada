package console

import (
	"net/http"
	"net/url"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestCreateTeam(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ann")
	b := e.signedIn(u)

	empty := b.get(Base + "/teams")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, "You are not in any team yet", `id="team-form"`)
	wantRedirect(t, b.get(Base+"/"), Base+"/teams")

	// Bad input comes back next to its field, with what was typed.
	p := b.post(Base+"/teams", url.Values{"slug": {"Not A Slug"}, "name": {"Research"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="slug-error"`, `value="Not A Slug"`, `value="Research"`, `aria-invalid="true"`)

	wantRedirect(t, b.post(Base+"/teams", url.Values{"slug": {"research"}, "name": {"Research"}}), Base+"/t/research?done=team-created")
	home := b.get(Base + "/t/research?done=team-created")
	wantStatus(t, home, http.StatusOK)
	wantContains(t, home, "Team created.", e.URL+"/t/research/", `data-testid="role">owner`)
	wantRedirect(t, b.get(Base+"/"), Base+"/t/research")

	// A taken slug.
	p = b.post(Base+"/teams", url.Values{"slug": {"research"}, "name": {"Again"}})
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "This slug is taken")

	ms, err := e.store.TeamsOf(testCtx(t), u.ID)
	if err != nil || len(ms) != 1 || ms[0].Role != tenants.RoleOwner {
		t.Fatalf("memberships %+v, %v; want owner of one team", ms, err)
	}
}

func TestRenameAndDeleteTeam(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("bea")
	e.team("blue", u)
	b := e.signedIn(u)

	p := b.post(Base+"/t/blue/settings/rename", url.Values{"name": {""}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="name-error"`)
	wantRedirect(t, b.post(Base+"/t/blue/settings/rename", url.Values{"name": {"Blue Sky"}}), Base+"/t/blue/settings?done=team-renamed")
	wantContains(t, b.get(Base+"/t/blue/settings?done=team-renamed"), "Team renamed.", `value="Blue Sky"`)

	// Delete wants the name typed exactly.
	p = b.post(Base+"/t/blue/settings/delete", url.Values{"confirm": {"blue"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="confirm-error"`, `value="blue"`)
	if _, err := e.store.GetTeam(testCtx(t), "blue"); err != nil {
		t.Fatalf("team gone after a wrong confirmation: %v", err)
	}
	wantRedirect(t, b.post(Base+"/t/blue/settings/delete", url.Values{"confirm": {"Blue Sky"}}), Base+"/teams?done=team-deleted")
	if _, err := e.store.GetTeam(testCtx(t), "blue"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("team after delete: %v", err)
	}
	wantStatus(t, b.get(Base+"/t/blue"), http.StatusNotFound)
}

// TestOtherTeamsAreInvisible: a member of team A gets 404 for every page
// and action of team B, exactly as for a team that does not exist.
func TestOtherTeamsAreInvisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, bUser := e.user("amy"), e.user("ben")
	e.team("team-a", a)
	teamB := e.team("team-b", bUser)
	eng, err := e.store.CreateEngine(testCtx(t), teamB.ID, tenants.EngineInput{Name: "secret-box", Dialect: "ollama", BaseURL: "http://10.0.0.9:11434"})
	if err != nil {
		t.Fatal(err)
	}
	browser := e.signedIn(a)
	for _, path := range []string{"", "/", "/engines", "/engines/new", "/engines/" + eng.ID, "/issuers", "/keys", "/members", "/audit", "/settings", "/chat"} {
		p := browser.get(Base + "/t/team-b" + path)
		wantStatus(t, p, http.StatusNotFound)
		wantLacks(t, p, "secret-box", "Team team-b")
		wantContains(t, p, `data-testid="error-page"`)
		nope := browser.get(Base + "/t/no-such-team" + path)
		wantStatus(t, nope, http.StatusNotFound)
	}
	for _, path := range []string{"/engines", "/engines/" + eng.ID, "/engines/" + eng.ID + "/delete", "/engines/" + eng.ID + "/test",
		"/keys", "/members/invite", "/settings/rename", "/settings/delete", "/try", "/token"} {
		wantStatus(t, browser.post(Base+"/t/team-b"+path, url.Values{"name": {"x"}, "confirm": {"Team team-b"}}), http.StatusNotFound)
	}
	if _, err := e.store.GetEngine(testCtx(t), teamB.ID, eng.ID); err != nil {
		t.Fatalf("team B's engine after team A's user tried: %v", err)
	}
	if _, err := e.store.GetTeam(testCtx(t), "team-b"); err != nil {
		t.Fatal(err)
	}
}

// Whether a team's engines may set cookies is a team setting: admins and
// owners change it on the settings page, it is audited, and others see it.
func TestEngineCookiesSetting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, viewer := e.user("cat"), e.user("vic")
	team := e.team("crumbs", owner)
	e.member(team, viewer, tenants.RoleViewer)
	b := e.signedIn(owner)

	p := b.get(Base + "/t/crumbs/settings")
	wantContains(t, p, `id="engine-cookies-form"`, `id="engine_cookies"`)
	wantLacks(t, p, `id="engine_cookies" checked`)
	wantContains(t, e.signedIn(viewer).get(Base+"/t/crumbs/settings"), "Cookies set by this team's engines are dropped.")

	wantRedirect(t, b.post(Base+"/t/crumbs/settings/engine-cookies", url.Values{"engine_cookies": {"on"}}),
		Base+"/t/crumbs/settings?done=engine-cookies-on")
	wantContains(t, b.get(Base+"/t/crumbs/settings?done=engine-cookies-on"),
		"This team&#39;s engines may now set cookies", `id="engine_cookies" checked`)
	if got, err := e.store.GetTeam(testCtx(t), "crumbs"); err != nil || !got.EngineCookies || got.Name != team.Name {
		t.Fatalf("after allowing: %+v, %v", got, err)
	}
	wantContains(t, e.signedIn(viewer).get(Base+"/t/crumbs/settings"), "This team's engines may set cookies.")

	// An unticked box is not sent at all: that turns the setting off.
	wantRedirect(t, b.post(Base+"/t/crumbs/settings/engine-cookies", url.Values{}), Base+"/t/crumbs/settings?done=engine-cookies-off")
	if got, err := e.store.GetTeam(testCtx(t), "crumbs"); err != nil || got.EngineCookies {
		t.Fatalf("after dropping: %+v, %v", got, err)
	}

	entries, _, err := e.store.ListAudit(testCtx(t), team.ID, tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var changes []any
	for _, en := range entries {
		if en.Action == tenants.AuditTeamUpdate && en.ActorID == owner.ID {
			changes = append(changes, en.Detail["engine_cookies"])
		}
	}
	if len(changes) != 2 || changes[0] != false || changes[1] != true {
		t.Fatalf("audited engine_cookies, newest first: %v, want [false true]", changes)
	}
}
