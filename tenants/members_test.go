package tenants

import (
	"slices"
	"sync"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestRoles(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Role{"owner": RoleOwner, " Admin ": RoleAdmin, "member": RoleMember, "VIEWER": RoleViewer} {
		if got, err := ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "root", "owners"} {
		if _, err := ParseRole(in); !isValidation(err, "role") {
			t.Errorf("ParseRole(%q): err = %v", in, err)
		}
	}
	type caps struct{ view, use, manage, edit, audit, del bool }
	for r, want := range map[Role]caps{
		RoleOwner:  {true, true, true, true, true, true},
		RoleAdmin:  {true, true, true, true, true, false},
		RoleMember: {true, true, false, false, false, false},
		RoleViewer: {true, false, false, false, false, false},
		"":         {},
		"root":     {},
	} {
		got := caps{r.CanView(), r.CanUseGateway(), r.CanManageTeam(), r.CanEditTeam(), r.CanViewAudit(), r.CanDeleteTeam()}
		if got != want {
			t.Errorf("%q: %+v, want %+v", r, got, want)
		}
	}
	for _, c := range []struct {
		who, from, to Role
		ok            bool
	}{
		{RoleOwner, RoleOwner, RoleViewer, true},
		{RoleOwner, "", RoleOwner, true},
		{RoleAdmin, RoleMember, RoleAdmin, true},
		{RoleAdmin, "", RoleViewer, true},
		{RoleAdmin, RoleAdmin, RoleOwner, false},
		{RoleAdmin, RoleOwner, RoleAdmin, false},
		{RoleAdmin, "", RoleOwner, false},
		{RoleMember, RoleViewer, RoleMember, false},
		{RoleOwner, RoleMember, "root", false},
	} {
		if got := c.who.CanAssign(c.from, c.to); got != c.ok {
			t.Errorf("%s assigns %q -> %q = %v, want %v", c.who, c.from, c.to, got, c.ok)
		}
	}
}

func TestTeamsAndMembers(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	ann := mustUser(t, s, "ann@example.com")
	bob := mustUser(t, s, "bob@example.com")
	cy := mustUser(t, s, "cy@example.com")

	zeta, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "zeta", Name: "Zeta"}, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	alpha, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "alpha", Name: "alpha"}, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "alpha", Name: "Again"}, bob.ID); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("taken slug: %v", err)
	}
	if _, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "ghost", Name: "Ghost"}, "0190a1b2-0000-7000-8000-000000000000"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown owner: %v", err)
	}
	if _, err := s.GetTeam(ctx, "ghost"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatal("the team of an unknown owner was created anyway")
	}

	ms, err := s.TeamsOf(ctx, ann.ID)
	if err != nil || len(ms) != 2 || ms[0].Team.ID != alpha.ID || ms[1].Team.ID != zeta.ID || ms[0].Role != RoleOwner {
		t.Fatalf("TeamsOf = %+v, %v; want alpha then Zeta, as owner", ms, err)
	}
	if ms, err := s.TeamsOf(ctx, bob.ID); err != nil || len(ms) != 0 {
		t.Fatalf("TeamsOf(no teams) = %+v, %v", ms, err)
	}

	if err := s.AddMember(ctx, zeta.ID, cy.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, zeta.ID, bob.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, zeta.ID, bob.ID, RoleMember); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("add twice: %v", err)
	}
	if err := s.AddMember(ctx, zeta.ID, "0190a1b2-0000-7000-8000-000000000000", RoleMember); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("add unknown user: %v", err)
	}
	if err := s.AddMember(ctx, zeta.ID, cy.ID, "root"); !isValidation(err, "role") {
		t.Fatalf("add with a bad role: %v", err)
	}

	members, err := s.ListMembers(ctx, zeta.ID)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range members {
		order = append(order, m.User.Email+":"+string(m.Role))
		if m.Since.IsZero() || m.User.ID == "" || !m.User.HasPassword {
			t.Errorf("member = %+v", m)
		}
	}
	if want := []string{"ann@example.com:owner", "bob@example.com:admin", "cy@example.com:viewer"}; !slices.Equal(order, want) {
		t.Fatalf("ListMembers = %v, want %v", order, want)
	}

	if r, err := s.RoleOf(ctx, zeta.ID, bob.ID); err != nil || r != RoleAdmin {
		t.Fatalf("RoleOf = %q, %v", r, err)
	}
	if _, err := s.RoleOf(ctx, alpha.ID, bob.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("RoleOf non-member: %v", err)
	}
	if err := s.SetRole(ctx, zeta.ID, cy.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.RoleOf(ctx, zeta.ID, cy.ID); r != RoleMember {
		t.Fatalf("after SetRole: %q", r)
	}
	if err := s.RemoveMember(ctx, zeta.ID, cy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RoleOf(ctx, zeta.ID, cy.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("removed member still has a role: %v", err)
	}
	if err := s.RemoveMember(ctx, zeta.ID, cy.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("remove twice: %v", err)
	}
	if err := s.SetRole(ctx, zeta.ID, ann.ID, "boss"); !isValidation(err, "role") {
		t.Fatalf("bad role: %v", err)
	}

	// Deleting a team takes its memberships along.
	if err := s.DeleteTeam(ctx, alpha.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE team_id = $1", alpha.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d memberships left of a deleted team (%v)", n, err)
	}
}

func TestLastOwnerStays(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	owner := mustUser(t, s, "owner@example.com")
	other := mustUser(t, s, "other@example.com")
	ctx := actorCtx(t, owner)
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "acme", Name: "Acme"}, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"demote": s.SetRole(ctx, team.ID, owner.ID, RoleAdmin),
		"remove": s.RemoveMember(ctx, team.ID, owner.ID),
	} {
		if attach.ErrorCode(err) != attach.CodeLastOwner {
			t.Errorf("%s the only owner: err = %v, want last_owner", name, err)
		}
	}
	if r, _ := s.RoleOf(ctx, team.ID, owner.ID); r != RoleOwner {
		t.Fatalf("only owner is now %q", r)
	}
	// Setting the same role is a no-op, even for the last owner.
	if err := s.SetRole(ctx, team.ID, owner.ID, RoleOwner); err != nil {
		t.Fatal(err)
	}

	// With a second owner, either may step down, and then not the other.
	if err := s.AddMember(ctx, team.ID, other.ID, RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, team.ID, owner.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, team.ID, other.ID); attach.ErrorCode(err) != attach.CodeLastOwner {
		t.Fatalf("remove the new only owner: %v", err)
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if got := auditActions(entries); !slices.Equal(got, []string{AuditMemberRole, AuditMemberAdd, AuditTeamCreate}) {
		t.Fatalf("audit = %v", got)
	}
	if d := entries[0].Detail; d["role"] != "member" || d["previous_role"] != "owner" || entries[0].TargetName != owner.Email {
		t.Fatalf("member.role = %+v", entries[0])
	}
}

// Two owners demoting each other at the same moment: without the team lock
// both would count two owners and both succeed, leaving none.
func TestConcurrentDemotionsKeepAnOwner(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	a := mustUser(t, s, "a@example.com")
	b := mustUser(t, s, "b@example.com")
	for round := range 8 {
		team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "t" + string(rune('a'+round)), Name: "T"}, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddMember(ctx, team.ID, b.ID, RoleOwner); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, u := range []User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if round%2 == 0 {
					errs[i] = s.SetRole(ctx, team.ID, u.ID, RoleAdmin)
				} else {
					errs[i] = s.RemoveMember(ctx, team.ID, u.ID)
				}
			}()
		}
		close(start)
		wg.Wait()
		failed := 0
		for _, err := range errs {
			switch {
			case attach.ErrorCode(err) == attach.CodeLastOwner:
				failed++
			case err != nil:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		var owners int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE team_id = $1 AND role = 'owner'", team.ID).Scan(&owners); err != nil {
			t.Fatal(err)
		}
		if failed != 1 || owners != 1 {
			t.Fatalf("round %d: %d refused, %d owners left; want 1 and 1", round, failed, owners)
		}
	}
}
