package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

var olderRE = regexp.MustCompile(`href="(/console/t/[a-z-]+/audit\?after=[^"]+)"[^>]*id="next-page"`)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.localUser("audra@example.test")
	team := e.team("logged", u)
	b := e.browser()
	wantRedirect(t, signInForm(t, b, "audra@example.test", testPassword, ""), Base+"/")
	b.csrf = formCSRF(t, b.get(Base+"/t/logged"))

	wantRedirect(t, b.post(Base+"/t/logged/engines", url.Values{"name": {"gpu"}, "dialect": {"ollama"}, "base_url": {"http://gpu:11434"}}),
		Base+"/t/logged/engines?done=engine-created")
	wantRedirect(t, b.post(Base+"/t/logged/settings/rename", url.Values{"name": {"Logged Team"}}), Base+"/t/logged/settings?done=team-renamed")

	p := b.get(Base + "/t/logged/audit")
	wantStatus(t, p, http.StatusOK)
	rows := strings.Split(p.Body, `data-testid="audit-row"`)[1:]
	if len(rows) != 3 {
		t.Fatalf("%d audit rows, want 3 (sign-in, engine, rename): %.3000s", len(rows), p.Body)
	}
	for i, want := range []string{tenants.AuditTeamRename, tenants.AuditEngineCreate, tenants.AuditSignIn} {
		if !strings.Contains(rows[i], ">"+want+"<") || !strings.Contains(rows[i], "audra@example.test") {
			t.Errorf("row %d is not %s by audra: %.400s", i, want, rows[i])
		}
	}
	wantContains(t, p, "engine gpu", "team Logged Team")
	wantLacks(t, p, `id="next-page"`)

	// Sign-out is recorded as well.
	wantRedirect(t, b.post(Base+"/signout", nil), Base+"/signin?done=signed-out")
	list, _, err := e.store.ListAudit(testCtx(t), team.ID, tenants.Page{Limit: 1})
	if err != nil || len(list) != 1 || list[0].Action != tenants.AuditSignOut {
		t.Fatalf("newest audit entry %+v, %v; want the sign-out", list, err)
	}
}

func TestAuditLogPaginates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("pager")
	team := e.team("paged", u)
	for i := 0; i < 120; i++ {
		if err := e.store.RecordAudit(testCtx(t), team.ID, tenants.AuditEntry{
			ActorName: "bot", Action: "test.event", TargetType: "n", TargetName: "n" + strconv.Itoa(i),
		}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.signedIn(u)
	seen := map[string]bool{}
	next := Base + "/t/paged/audit"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		p := b.get(next)
		wantStatus(t, p, http.StatusOK)
		for _, row := range strings.Split(p.Body, `data-testid="audit-row"`)[1:] {
			m := regexp.MustCompile(`n (n\d+)<`).FindStringSubmatch(row)
			if m == nil {
				continue
			}
			if seen[m[1]] {
				t.Fatalf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := olderRE.FindStringSubmatch(p.Body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages == 0 && !strings.Contains(p.Body, ">n n119<") {
			t.Fatal("the newest entry is not on the first page")
		}
	}
	// The creation row of the team is written without an actor, so only the
	// 120 events are listed.
	if len(seen) != 120 {
		t.Fatalf("saw %d entries over all pages, want 120", len(seen))
	}
}
