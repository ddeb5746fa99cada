package tenants

import (
	"errors"
	"slices"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// TestLockUserEndsSessionsAndSignIns locks a user with a live session and
// a password: the session stops at once, password and single sign-on are
// refused with account_locked (the password only when it is right), and
// the console access check fails; unlocking lets them sign in again.
func TestLockUserEndsSessionsAndSignIns(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "lab")
	bob := mustUser(t, s, "bob@example.test")
	if err := s.AddMember(ctx, team.ID, bob.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	sso, err := s.UpsertOIDCUser(ctx, "https://idp.example", "sub-1", "sso@example.test", "SSO", true)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.CreateSession(ctx, bob.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := SessionRef(token)
	if _, err := s.ConsoleAccess(ctx, ref, team.ID, bob.ID); err != nil {
		t.Fatalf("console access before the lock: %v", err)
	}

	ctx = WithActor(ctx, Actor{ID: "0190a3c5-0000-7000-8000-000000000001", Name: "root@example.test"})
	locked, err := s.LockUser(ctx, bob.ID)
	if err != nil || locked.LockedAt == nil {
		t.Fatalf("lock: %+v %v", locked, err)
	}
	if _, _, err := s.GetSession(ctx, token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("session of a locked user: %v", err)
	}
	if _, err := s.ConsoleAccess(ctx, ref, team.ID, bob.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("console access of a locked user: %v", err)
	}
	if _, err := s.AuthenticatePassword(ctx, bob.Email, "wrong password, long enough"); attach.ErrorCode(err) != attach.CodeUnauthorized {
		t.Fatalf("wrong password of a locked user: %v, want unauthorized (nothing said of the lock)", err)
	}
	if _, err := s.AuthenticatePassword(ctx, bob.Email, testPassword); !isLocked(err) {
		t.Fatalf("right password of a locked user: %v", err)
	}
	// A session made in a race with the lock is refused too.
	raced, _, err := s.CreateSession(ctx, bob.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, raced); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("raced session of a locked user: %v", err)
	}

	if _, err := s.LockUser(ctx, sso.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertOIDCUser(ctx, "https://idp.example", "sub-1", "sso@example.test", "Renamed", true); !isLocked(err) {
		t.Fatalf("sso sign-in of a locked user: %v", err)
	}
	if u, _ := s.GetUser(ctx, sso.ID); u.Name != "SSO" {
		t.Errorf("a refused sso sign-in renamed the user to %q", u.Name)
	}

	again, err := s.LockUser(ctx, bob.ID)
	if err != nil || !again.LockedAt.Equal(*locked.LockedAt) {
		t.Fatalf("locking twice: %+v %v", again, err)
	}
	if u, err := s.UnlockUser(ctx, bob.ID); err != nil || u.LockedAt != nil {
		t.Fatalf("unlock: %+v %v", u, err)
	}
	if _, err := s.AuthenticatePassword(ctx, bob.Email, testPassword); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}
	if _, err := s.LockUser(ctx, "0190a3c5-0000-7000-8000-00000000dead"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("lock of an unknown user: %v", err)
	}
	if _, err := s.LockUser(ctx, "not-an-id"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("lock of a malformed id: %v", err)
	}

	// The install's log has one row per change: locking twice is one lock.
	var locks, unlocks int
	for _, e := range installAudit(t, s) {
		switch {
		case e.Action == AuditUserLock && e.TargetID == bob.ID:
			locks++
			if e.ActorName != "root@example.test" || e.Detail["sessions_ended"] != float64(1) {
				t.Errorf("lock row: %+v", e)
			}
		case e.Action == AuditUserUnlock && e.TargetID == bob.ID:
			unlocks++
		}
	}
	if locks != 1 || unlocks != 1 {
		t.Errorf("install log: %d locks and %d unlocks of bob, want 1 and 1", locks, unlocks)
	}
}

func isLocked(err error) bool {
	var e *attach.Error
	return errors.As(err, &e) && e.Code == attach.CodeForbidden && e.Reason == ReasonAccountLocked
}

// installAudit reads the install-wide rows of the audit log.
func installAudit(t *testing.T, s *Store) []AuditEntry {
	t.Helper()
	rows, err := s.pool.Query(testCtx(t), "SELECT "+auditColumns+" FROM audit_log WHERE team_id IS NULL ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestDeleteUserKeepsEveryTeamOwned refuses to remove the only owner of a
// team, naming it, and removes a user whose teams keep an owner: their
// memberships and sessions go, each team's log and the install's log say
// so.
func TestDeleteUserKeepsEveryTeamOwned(t *testing.T) {
	t.Parallel()
	s, _, ctx, lab := newTeamStore(t, "lab")
	ctx = WithActor(ctx, Actor{Name: "admin token"})
	alice, bob := mustUser(t, s, "alice@example.test"), mustUser(t, s, "bob@example.test")
	ops, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "ops", Name: "Ops"}, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		u    User
		role Role
	}{{alice, RoleOwner}, {bob, RoleOwner}} {
		if err := s.AddMember(ctx, lab.ID, m.u.ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	token, _, err := s.CreateSession(ctx, bob.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}

	err = s.DeleteUser(ctx, bob.ID)
	if attach.ErrorCode(err) != attach.CodeLastOwner || !strings.Contains(err.Error(), "team ops") || strings.Contains(err.Error(), "lab") {
		t.Fatalf("removing ops's only owner: %v", err)
	}
	if _, _, err := s.GetSession(ctx, token); err != nil {
		t.Fatalf("a refused removal ended the session: %v", err)
	}
	if err := s.AddMember(ctx, ops.ID, alice.ID, RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatalf("remove bob: %v", err)
	}
	if _, err := s.GetUser(ctx, bob.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("bob after removal: %v", err)
	}
	if _, _, err := s.GetSession(ctx, token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("bob's session after removal: %v", err)
	}
	for _, team := range []string{lab.ID, ops.ID} {
		members, err := s.ListMembers(ctx, team)
		if err != nil || len(members) != 1 || members[0].User.ID != alice.ID {
			t.Fatalf("members after removal: %+v %v", members, err)
		}
		log, _, err := s.ListAudit(ctx, team, Page{})
		if err != nil || !slices.ContainsFunc(log, func(e AuditEntry) bool {
			return e.Action == AuditMemberRemove && e.TargetID == bob.ID && e.ActorName == "admin token"
		}) {
			t.Errorf("team log misses bob's removal: %v", err)
		}
	}
	if !slices.ContainsFunc(installAudit(t, s), func(e AuditEntry) bool { return e.Action == AuditUserDelete && e.TargetID == bob.ID }) {
		t.Error("the install's log misses the removal")
	}
	if err := s.DeleteUser(ctx, bob.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("removing twice: %v", err)
	}
}

// TestListUsersAndTeams pages through every user with their teams and
// every team with its counts.
func TestListUsersAndTeams(t *testing.T) {
	t.Parallel()
	s, _, ctx, lab := newTeamStore(t, "lab")
	var users []User
	for _, e := range []string{"a@example.test", "b@example.test", "c@example.test"} {
		users = append(users, mustUser(t, s, e))
	}
	if err := s.AddMember(ctx, lab.ID, users[1].ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, lab.ID, users[2].ID, RoleOwner); err != nil {
		t.Fatal(err)
	}
	first, next, err := s.ListUsers(ctx, Page{Limit: 2})
	if err != nil || len(first) != 2 || next == "" {
		t.Fatalf("first page: %d users, next %q, %v", len(first), next, err)
	}
	rest, next2, err := s.ListUsers(ctx, Page{Limit: 2, After: next})
	if err != nil || len(rest) != 1 || next2 != "" {
		t.Fatalf("second page: %d users, next %q, %v", len(rest), next2, err)
	}
	all := append(first, rest...)
	for i, u := range all {
		if u.ID != users[i].ID {
			t.Fatalf("user %d is %s, want %s", i, u.Email, users[i].Email)
		}
	}
	if len(all[0].Teams) != 0 || len(all[1].Teams) != 1 || all[1].Teams[0].Slug != "lab" || all[1].Teams[0].Role != RoleAdmin {
		t.Errorf("teams of users: %+v / %+v", all[0].Teams, all[1].Teams)
	}
	if _, _, err := s.ListUsers(ctx, Page{After: "nope"}); !isValidation(err, "after") {
		t.Errorf("bad cursor: %v", err)
	}

	if _, err := s.CreateTeam(ctx, TeamInput{Slug: "empty", Name: "Empty"}); err != nil {
		t.Fatal(err)
	}
	teams, _, err := s.ListTeamSummaries(ctx, Page{})
	if err != nil || len(teams) != 2 {
		t.Fatalf("teams: %+v %v", teams, err)
	}
	if teams[0].Slug != "lab" || teams[0].Members != 2 || teams[0].Owners != 1 || teams[1].Members != 0 {
		t.Errorf("team counts: %+v", teams)
	}

	if u, err := s.SetInstallAdmin(ctx, users[0].ID, true); err != nil || !u.InstallAdmin {
		t.Fatalf("set install admin: %+v %v", u, err)
	}
	if u, _ := s.GetUser(ctx, users[0].ID); !u.InstallAdmin {
		t.Error("install admin flag not stored")
	}
}

// TestSessionKeepsProviderGroups stores a single sign-on's groups with the
// session, bounded, and gives them back with it.
func TestSessionKeepsProviderGroups(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "g@example.test")
	many := []string{"eng", " eng ", "", strings.Repeat("x", 257), "ops"}
	for i := range MaxSessionGroups + 5 {
		many = append(many, "g"+strings.Repeat("1", i%3)+string(rune('a'+i%26))+strings.Repeat("z", i/26))
	}
	token, _, err := s.CreateSession(ctx, u.ID, SessionInput{Groups: many})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := s.GetSession(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Groups) != MaxSessionGroups || sess.Groups[0] != "eng" || sess.Groups[1] != "ops" {
		t.Errorf("groups kept: %d, first %v", len(sess.Groups), sess.Groups[:2])
	}
	plain, _, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	if sess, _, _ := s.GetSession(ctx, plain); len(sess.Groups) != 0 {
		t.Errorf("password session has groups %v", sess.Groups)
	}
}
