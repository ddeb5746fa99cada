package console

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

var callerRowRE = regexp.MustCompile(`(?s)<tr data-testid="caller-row">(.*?)</tr>`)
var tagRE = regexp.MustCompile(`<[^>]+>`)

// callerRows reads the Callers table as text, one string per row, in the
// page's order.
func callerRows(t *testing.T, p page) []string {
	t.Helper()
	var rows []string
	for _, m := range callerRowRE.FindAllStringSubmatch(p.Body, -1) {
		text := html.UnescapeString(tagRE.ReplaceAllString(m[1], " "))
		rows = append(rows, strings.Join(strings.Fields(text), " "))
	}
	return rows
}

// TestCallersPage stores counts with the real store, as the gateway's
// flush does, and reads them on the page: every kind of identity with its
// name and its count of the last day, busiest first, and only the team's
// own.
func TestCallersPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	owner, viewer, outsider := e.user("cal"), e.user("val"), e.user("oscar")
	team := e.team("calls", owner)
	e.member(team, viewer, tenants.RoleViewer)
	other := e.team("elsewhere", outsider)

	// Nothing counted yet: the page says how callers appear.
	empty := e.signedIn(viewer).get(Base + "/t/calls/callers")
	wantStatus(t, empty, http.StatusOK)
	wantContains(t, empty, `data-testid="empty"`, "No calls in the last 24 hours", "A caller appears here once it calls")
	wantContains(t, empty, `id="nav-callers"`)

	key, _, err := e.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "nightly-ci"})
	if err != nil {
		t.Fatal(err)
	}
	const did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	now := time.Now()
	hourAgo, dayAgo := now.Add(-time.Hour), now.Add(-48*time.Hour)
	keySubject := attach.SubjectPrefixAPIKey + key.ID
	count := func(teamID string, at time.Time, method, issuer, subject, actor string, n int64) tenants.CallerCount {
		return tenants.CallerCount{TeamID: teamID, Hour: at, Method: method, Issuer: issuer, Subject: subject, Actor: actor, Count: n, LastSeen: at}
	}
	if err := e.store.AddCallerCounts(ctx, []tenants.CallerCount{
		count(team.ID, now, attach.MethodAPIKey, attach.IssuerAPIKey, keySubject, "", 9),
		// Two hours of the same subject add up; two days ago is outside.
		count(team.ID, now, attach.MethodOIDC, "https://idp.test", "alice", "", 4),
		count(team.ID, hourAgo, attach.MethodOIDC, "https://idp.test", "alice", "", 3),
		count(team.ID, dayAgo, attach.MethodOIDC, "https://idp.test", "alice", "", 100),
		count(team.ID, now, attach.MethodDID, did, did, "", 5),
		count(team.ID, now, "delegation", "https://gw.test", attach.UserSubject(owner.ID), "planner", 2),
		count(team.ID, now, "console", "https://gw.test/console", attach.UserSubject(viewer.ID), "", 1),
		// Another team's caller.
		count(other.ID, now, attach.MethodOIDC, "https://idp.test", "mallory-of-elsewhere", "", 50),
	}); err != nil {
		t.Fatal(err)
	}

	p := e.signedIn(viewer).get(Base + "/t/calls/callers")
	wantStatus(t, p, http.StatusOK)
	wantLacks(t, p, "mallory-of-elsewhere", `data-testid="empty"`)
	wantContains(t, p, `id="nav-callers" aria-current="page"`, "5 callers, 24 calls.")
	want := []string{
		"API key nightly-ci atk_" + key.Prefix + "_… API key 9 " + when(now),
		"alice issuer https://idp.test OIDC token 7 " + when(now),
		did + " DID-JWT 5 " + when(now),
		"Agent planner for User cal cal@example.test Delegated agent token 2 " + when(now),
		"User val val@example.test Console sign-in 1 " + when(now),
	}
	got := callerRows(t, p)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("callers table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The other team sees only its own caller.
	theirs := callerRows(t, e.signedIn(outsider).get(Base+"/t/elsewhere/callers"))
	if len(theirs) != 1 || !strings.HasPrefix(theirs[0], "mallory-of-elsewhere ") || !strings.Contains(theirs[0], " 50 ") {
		t.Fatalf("the other team's callers: %q", theirs)
	}

	// Someone outside the team is refused, exactly as for a team that
	// does not exist, and sees none of its callers.
	refused := e.signedIn(outsider).get(Base + "/t/calls/callers")
	wantStatus(t, refused, http.StatusNotFound)
	wantLacks(t, refused, "nightly-ci", "alice", did)
	// Signed out: sent to sign in.
	wantStatus(t, e.browser().get(Base+"/t/calls/callers"), http.StatusSeeOther)
}

// TestDescribeCaller covers the identities the page names without a row
// in the database to join: deleted keys and users, and the "other" row.
func TestDescribeCaller(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in        tenants.Caller
		who, more string
	}{
		{tenants.Caller{Method: attach.MethodAPIKey, KeyID: "k1"}, "Deleted API key", "k1"},
		{tenants.Caller{Method: "console", UserID: "u1"}, "Deleted console user", "u1"},
		{tenants.Caller{Method: "console", UserID: "u1", UserEmail: "e@x.test"}, "e@x.test", ""},
		{tenants.Caller{Method: tenants.MethodOther}, "Other callers", "counted together: more identities called than the gateway tracks one by one"},
		{tenants.Caller{Method: attach.MethodOIDC, Issuer: "https://idp"}, "(no subject)", "issuer https://idp"},
		{tenants.Caller{Method: attach.MethodExchange, Issuer: "https://gw", Subject: "bob"}, "bob", "issuer https://gw"},
	}
	for _, c := range cases {
		r := describeCaller(c.in)
		if r.Who != c.who || r.Detail != c.more {
			t.Errorf("describeCaller(%+v) = %q, %q; want %q, %q", c.in, r.Who, r.Detail, c.who, c.more)
		}
	}
}
