package console

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// TestAuditLogFilterAndCSV narrows the page by who, what and when, keeps
// the filter across pages, and downloads the same entries as CSV with
// formula-looking cells defused.
func TestAuditLogFilterAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.localUser("flora@example.test")
	team := e.team("filtered", u)
	for i, ent := range []tenants.AuditEntry{
		{ActorName: "ann@example.com", Action: tenants.AuditEngineCreate, TargetType: "engine", TargetName: "gpu"},
		{ActorName: "ann@example.com", Action: tenants.AuditEngineUpdate, TargetType: "engine", TargetName: "gpu",
			Detail: map[string]any{"changes": map[string]any{"base_url": map[string]any{"from": "http://a:1", "to": "http://b:2"}, "api_key": "set"}}},
		{ActorName: "bob@example.com", Action: tenants.AuditMemberRole, TargetType: "user", TargetName: "=HYPERLINK(\"http://evil\")",
			Detail: map[string]any{"role": "admin", "previous_role": "member"}},
	} {
		if err := e.store.RecordAudit(testCtx(t), team.ID, ent); err != nil {
			t.Fatal(i, err)
		}
	}
	b := e.browser()
	wantRedirect(t, signInForm(t, b, "flora@example.test", testPassword, ""), Base+"/")

	rows := func(p page) []string { return strings.Split(p.Body, `data-testid="audit-row"`)[1:] }
	p := b.get(Base + "/t/filtered/audit?action=engine.")
	wantStatus(t, p, http.StatusOK)
	if r := rows(p); len(r) != 2 || !strings.Contains(r[0], tenants.AuditEngineUpdate) || !strings.Contains(r[1], tenants.AuditEngineCreate) {
		t.Fatalf("engine. filter: %d rows: %.2000s", len(r), p.Body)
	}
	wantContains(t, p, `value="engine."`, `href="/console/t/filtered/audit.csv?action=engine."`,
		"base_url: http://a:1 → http://b:2", "api_key: set")

	p = b.get(Base + "/t/filtered/audit?actor=BOB")
	if r := rows(p); len(r) != 1 || !strings.Contains(r[0], tenants.AuditMemberRole) || !strings.Contains(r[0], "role: member → admin") {
		t.Fatalf("actor filter: %d rows", len(r))
	}
	p = b.get(Base + "/t/filtered/audit?actor=nobody")
	wantContains(t, p, `data-testid="audit-none"`)

	// Bad dates: the form says what is wrong, field by field.
	p = b.get(Base + "/t/filtered/audit?from=yesterday&to=2026-13-40")
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `id="from-error"`, `id="to-error"`)

	resp := b.get(Base + "/t/filtered/audit.csv?actor=bob")
	wantStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0][0] != "time" || recs[1][1] != "bob@example.com" || recs[1][2] != tenants.AuditMemberRole {
		t.Fatalf("csv %q", recs)
	}
	if got := recs[1][5]; !strings.HasPrefix(got, "'=") {
		t.Fatalf("a formula cell was not defused: %q", got)
	}
	all, _ := csv.NewReader(strings.NewReader(b.get(Base + "/t/filtered/audit.csv").Body)).ReadAll()
	if len(all) < 4 { // header, three entries, and the sign-in
		t.Fatalf("unfiltered csv has %d rows", len(all))
	}

	// A member who may not read the audit log may not download it either.
	m := e.localUser("member@example.test")
	if err := e.store.AddMember(testCtx(t), team.ID, m.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	mb := e.browser()
	wantRedirect(t, signInForm(t, mb, "member@example.test", testPassword, ""), Base+"/")
	if r := mb.get(Base + "/t/filtered/audit.csv"); r.StatusCode == http.StatusOK {
		t.Fatalf("a member downloaded the audit log: %d", r.StatusCode)
	}
}
