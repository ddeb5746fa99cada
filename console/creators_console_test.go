package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// oidcUser makes an SSO user with the given address and email_verified.
func (e *env) oidcUser(subject, email string, verified bool) tenants.User {
	e.t.Helper()
	u, err := e.store.UpsertOIDCUser(testCtx(e.t), "https://idp.test", subject, email, "User "+subject, verified)
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// With domain:example.com, a verified user of that domain sees the form
// and creates a team; a user of another domain, or one whose address is
// not proven, gets no form and 403 when posting anyway, and no team is made.
func TestTeamCreatorsByDomain(t *testing.T) {
	t.Parallel()
	rule, err := ParseTeamCreators("domain:example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{creators: rule})

	ok := e.signedIn(e.oidcUser("ok", "ok@example.com", true))
	p := ok.get(Base + "/teams")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="team-form"`, `id="create-team"`)
	wantRedirect(t, ok.post(Base+"/teams", url.Values{"slug": {"allowed"}, "name": {"Allowed"}}), Base+"/t/allowed?done=team-created")
	wantContains(t, ok.get(Base+"/t/allowed"), "All teams · new team")

	for _, u := range []tenants.User{
		e.oidcUser("other", "x@other.org", true),
		e.oidcUser("unproven", "unproven@example.com", false),
	} {
		b := e.signedIn(u)
		p := b.get(Base + "/teams")
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, `id="team-form"`, `id="create-team"`)
		wantContains(t, p, `id="create-team-refused"`, "example.com")
		p = b.post(Base+"/teams", url.Values{"slug": {"sneaky-" + u.Email[:2]}, "name": {"Sneaky"}})
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, "only people with a verified address at example.com can create teams")
		if _, err := e.store.GetTeam(testCtx(t), "sneaky-"+u.Email[:2]); err == nil {
			t.Errorf("%s: a refused post made a team", u.Email)
		}
	}
}

// With none, nobody creates teams in the console, not even a verified
// user; teams come from the management API or the command line.
func TestTeamCreatorsNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{creators: TeamCreators{None: true}})
	ada := e.oidcUser("ada", "ada@example.com", true)
	e.team("given", ada) // made for her by the install
	b := e.signedIn(ada)
	// The team switcher offers no team creation either.
	if p := b.get(Base + "/t/given"); !strings.Contains(p.Body, `id="all-teams">All teams<`) || strings.Contains(p.Body, "new team") {
		t.Fatalf("the switcher offers a new team: %.300s", p.Body[strings.Index(p.Body, "all-teams"):])
	}
	p := b.get(Base + "/teams")
	wantLacks(t, p, `id="team-form"`)
	wantContains(t, p, `id="create-team-refused"`, "created by the install")
	p = b.post(Base+"/teams", url.Values{"slug": {"nope"}, "name": {"Nope"}})
	wantStatus(t, p, http.StatusForbidden)
	if _, err := e.store.GetTeam(testCtx(t), "nope"); err == nil {
		t.Error("a refused post made a team")
	}
}
