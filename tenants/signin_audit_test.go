package tenants

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRecordSignInEvent: a refused sign-in is written install-wide and in
// the log of each of the account's teams, and never in another team's; an
// unknown email only install-wide.
func TestRecordSignInEvent(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ann@example.com")
	mine := mustTeam(t, s, "mine")
	other := mustTeam(t, s, "other")
	if err := s.AddMember(ctx, mine.ID, u.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	err := s.RecordSignInEvent(ctx, SignInEvent{Action: AuditSignInThrottle, Email: " ANN@example.com", IP: "192.0.2.9",
		Detail: map[string]any{"scope": ThrottlePair, "seconds": 900}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSignInEvent(ctx, SignInEvent{Action: AuditSignInFailed, Email: "nobody@example.com", IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}

	list, _, err := s.ListAudit(ctx, mine.ID, Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("the account's team log = %+v, %v; want one row", list, err)
	}
	e := list[0]
	if e.Action != AuditSignInThrottle || e.ActorName != "ann@example.com" || e.ActorIP != "192.0.2.9" ||
		e.TargetType != "user" || e.TargetID != u.ID || e.Detail["scope"] != ThrottlePair {
		t.Fatalf("team row = %+v", e)
	}
	if list, _, _ := s.ListAudit(ctx, other.ID, Page{}); len(list) != 0 {
		t.Fatalf("another team's log has %+v", list)
	}
	install, _, err := s.ListAudit(ctx, "", Page{})
	if err != nil || len(install) != 2 {
		t.Fatalf("install-wide log = %+v, %v; want two rows", install, err)
	}
	if install[0].ActorName != "nobody@example.com" || install[0].TargetID != "" || install[1].TargetID != u.ID {
		t.Fatalf("install-wide rows = %+v", install)
	}
	raw, _ := json.Marshal(install)
	if strings.Contains(string(raw), "password") {
		t.Fatalf("a row mentions a password: %s", raw)
	}
}
