package tenants

import (
	"strings"
	"sync"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestChangePasswordOnceAndOthersSignedOut(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ada@example.test")
	keep, _, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.CreateSession(ctx, u.ID, SessionInput{})
	if err != nil {
		t.Fatal(err)
	}

	if err := s.ChangePassword(ctx, u.ID, "wrong wrong wrong", "a new passphrase here", keep); !isValidation(err, "current_password") {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := s.ChangePassword(ctx, u.ID, testPassword, "short", keep); !isValidation(err, "password") {
		t.Fatalf("weak new password: %v", err)
	}
	if _, _, err := s.GetSession(ctx, other); err != nil {
		t.Fatalf("a refused change signed a session out: %v", err)
	}

	// Two changes with the same old password at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.ChangePassword(actorCtx(t, u), u.ID, testPassword, "new passphrase number "+strings.Repeat("x", i+1), keep)
		})
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("concurrent changes: %v, %v; want exactly one to pass", errs[0], errs[1])
	}
	if _, _, err := s.GetSession(ctx, keep); err != nil {
		t.Fatalf("the session that changed the password ended: %v", err)
	}
	if _, _, err := s.GetSession(ctx, other); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("another session survived the change: %v", err)
	}

	sso, err := s.UpsertOIDCUser(ctx, "https://idp.test", "grace", "grace@example.test", "Grace", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, sso.ID, "", "a new passphrase here", ""); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("an account without a password: %v, want a conflict", err)
	}
}

func TestEndUserSessionOnlyOwn(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	ada, bob := mustUser(t, s, "ada@example.test"), mustUser(t, s, "bob@example.test")
	mine, _, _ := s.CreateSession(ctx, ada.ID, SessionInput{UserAgent: "Firefox", IP: "192.0.2.1"})
	theirs, _, _ := s.CreateSession(ctx, bob.ID, SessionInput{})

	list, err := s.ListUserSessions(ctx, ada.ID)
	if err != nil || len(list) != 1 || list[0].UserAgent != "Firefox" || list[0].IP != "192.0.2.1" {
		t.Fatalf("ada's sessions %+v (%v)", list, err)
	}
	ref, _ := SessionRef(mine)
	if list[0].Ref != ref || strings.Contains(ref, mine) {
		t.Fatalf("ref %q, want SessionRef of the token and not the token", list[0].Ref)
	}
	theirRef, _ := SessionRef(theirs)
	if err := s.EndUserSession(ctx, ada.ID, theirRef); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("ending another user's session: %v, want not found", err)
	}
	if _, _, err := s.GetSession(ctx, theirs); err != nil {
		t.Fatalf("bob's session ended: %v", err)
	}
	if err := s.EndUserSession(actorCtx(t, ada), ada.ID, ref); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, mine); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("ended session still works: %v", err)
	}
}

func TestLeaveTeamKeepsAnOwner(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	ada, bob := mustUser(t, s, "ada@example.test"), mustUser(t, s, "bob@example.test")
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "alpha", Name: "Alpha"}, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveTeam(actorCtx(t, ada), team.ID, ada.ID); attach.ErrorCode(err) != attach.CodeLastOwner {
		t.Fatalf("the last owner leaving: %v", err)
	}
	if err := s.AddMember(ctx, team.ID, bob.ID, RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveTeam(actorCtx(t, ada), team.ID, ada.ID); err != nil {
		t.Fatalf("an owner with another owner leaving: %v", err)
	}
	if err := s.LeaveTeam(actorCtx(t, ada), team.ID, ada.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("leaving twice: %v", err)
	}
	list, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 10})
	if err != nil || len(list) == 0 || list[0].Action != AuditMemberLeave || list[0].ActorID != ada.ID {
		t.Fatalf("team log %+v (%v), want member.leave by ada first", list, err)
	}
}

func TestSessionIDTokenSealedPerSession(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ada@example.test")
	one, _, _ := s.CreateSession(ctx, u.ID, SessionInput{})
	two, _, _ := s.CreateSession(ctx, u.ID, SessionInput{})
	const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"
	if ok, err := s.KeepSessionIDToken(ctx, one, idToken); err != nil || !ok {
		t.Fatalf("keep: %v %v", ok, err)
	}
	if got, err := s.SessionIDToken(ctx, one); err != nil || got != idToken {
		t.Fatalf("read back %q (%v)", got, err)
	}
	if got, _ := s.SessionIDToken(ctx, two); got != "" {
		t.Fatalf("another session reads %q", got)
	}
	// Stored sealed, and bound to its session: moved to another row it
	// does not open.
	var stored []byte
	if err := pool.QueryRow(ctx, "SELECT id_token_sealed FROM console_sessions WHERE token_hash = $1", hashToken(one)).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "eyJ") {
		t.Fatal("the ID token is stored in the clear")
	}
	if _, err := pool.Exec(ctx, "UPDATE console_sessions SET id_token_sealed = $2 WHERE token_hash = $1", hashToken(two), stored); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SessionIDToken(ctx, two); got != "" {
		t.Fatalf("a sealed token copied to another session opened: %q", got)
	}
	// Without a sealer nothing is kept.
	plain := NewStore(pool, nil)
	if ok, err := plain.KeepSessionIDToken(ctx, two, idToken); err != nil || ok {
		t.Fatalf("kept without a sealer: %v %v", ok, err)
	}
}
