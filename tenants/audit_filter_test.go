package tenants

import (
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// TestListAuditFiltered narrows a team's log by actor, action (one or a
// kind), and time, keeps pages within the filter, and refuses bad filters.
func TestListAuditFiltered(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "audited")
	other := mustTeam(t, s, "elsewhere")
	for _, e := range []AuditEntry{
		{ActorName: "ann@example.com", Action: "engine.create"},
		{ActorName: "ann@example.com", Action: "engine.update"},
		{ActorName: "bob@example.com", Action: "member.role"},
		{ActorName: "admin token", Action: "engine.delete"},
		{ActorName: "100%_sure", Action: "apikey.create"},
	} {
		if err := s.RecordAudit(ctx, team.ID, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordAudit(ctx, other.ID, AuditEntry{ActorName: "ann@example.com", Action: "engine.create"}); err != nil {
		t.Fatal(err)
	}
	actions := func(f AuditFilter, page Page) ([]string, string) {
		t.Helper()
		list, next, err := s.ListAuditFiltered(ctx, team.ID, f, page)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.Action)
		}
		return out, next
	}
	for _, c := range []struct {
		f    AuditFilter
		want string
	}{
		{AuditFilter{Actor: "ANN"}, "engine.update engine.create"},
		{AuditFilter{Action: "engine."}, "engine.delete engine.update engine.create"},
		{AuditFilter{Action: "member.role"}, "member.role"},
		{AuditFilter{Action: "member"}, ""}, // an action, not a kind, without the dot
		{AuditFilter{Actor: "ann", Action: "engine.update"}, "engine.update"},
		{AuditFilter{Actor: "%"}, "apikey.create"}, // LIKE characters match themselves
		{AuditFilter{Actor: "_"}, "apikey.create"},
		{AuditFilter{From: time.Now().Add(time.Hour)}, ""},
		{AuditFilter{To: time.Now().Add(-time.Hour)}, ""},
		{AuditFilter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Actor: "bob"}, "member.role"},
	} {
		got, _ := actions(c.f, Page{})
		if strings.Join(got, " ") != c.want {
			t.Errorf("%+v: %v, want %q", c.f, got, c.want)
		}
	}

	// Pages stay within the filter.
	first, next := actions(AuditFilter{Action: "engine."}, Page{Limit: 2})
	rest, last := actions(AuditFilter{Action: "engine."}, Page{Limit: 2, After: next})
	if strings.Join(first, " ") != "engine.delete engine.update" || strings.Join(rest, " ") != "engine.create" || last != "" {
		t.Fatalf("pages %v then %v (next %q)", first, rest, last)
	}

	for _, f := range []AuditFilter{
		{Actor: strings.Repeat("a", 201)},
		{Action: strings.Repeat("a", 201)},
		{From: time.Now(), To: time.Now().Add(-time.Minute)},
	} {
		if _, _, err := s.ListAuditFiltered(ctx, team.ID, f, Page{}); attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", f, err)
		}
	}
}
