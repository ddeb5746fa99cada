package tenants

import (
	"errors"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// mustVerifiedUser makes a password account whose address was proven, as a
// bound invite's sign-up makes it.
func mustVerifiedUser(t testing.TB, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateLocalUser(testCtx(t), UserInput{Email: email, Name: "User " + email, Password: testPassword, EmailVerified: true})
	if err != nil || !u.EmailVerified {
		t.Fatalf("create verified user %s: %+v, %v", email, u, err)
	}
	return u
}

func isWrongInvitee(err error) bool {
	var ae *attach.Error
	return errors.As(err, &ae) && ae.Code == attach.CodeForbidden && ae.Reason == ReasonInviteWrongEmail
}

func TestBoundInviteWantsAVerifiedAddress(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	_, token, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "kim@example.com", Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	// An account that typed the address but never proved it is refused.
	typed := mustUser(t, s, "kim@example.com")
	if _, err := s.AcceptInvite(ctx, token, typed.ID); !isWrongInvitee(err) {
		t.Fatalf("unverified account: %v, want %s", err, ReasonInviteWrongEmail)
	}
	if _, err := s.RoleOf(ctx, team.ID, typed.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatal("a refused accept made a member")
	}
	// A provider that does not vouch for the address does not help either.
	sso, err := s.UpsertOIDCUser(ctx, "https://idp.example", "kim-1", "kim2@example.com", "Kim", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, token, sso.ID); !isWrongInvitee(err) {
		t.Fatalf("other address via sso: %v", err)
	}
	if _, _, err := s.InviteByToken(ctx, token); err != nil {
		t.Fatalf("a refused accept spent the invite: %v", err)
	}
}

func TestAnyoneInvite(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	iv, token, err := s.CreateInvite(actorCtx(t, mustUser(t, s, "admin@example.com")), team.ID, InviteInput{Anyone: true, Role: RoleViewer})
	if err != nil || !iv.Anyone || iv.Email != "" || iv.For() != AnyoneLabel {
		t.Fatalf("CreateInvite(anyone) = %+v, %v", iv, err)
	}
	// Two "anyone" invites do not replace each other.
	if _, _, err := s.CreateInvite(ctx, team.ID, InviteInput{Anyone: true, Role: RoleMember}); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.ListInvites(ctx, team.ID); len(pending) != 2 || !pending[0].Anyone {
		t.Fatalf("pending = %+v", pending)
	}
	u := mustUser(t, s, "whoever@example.com")
	if m, err := s.AcceptInvite(ctx, token, u.ID); err != nil || m.Role != RoleViewer {
		t.Fatalf("accept anyone invite = %+v, %v", m, err)
	}
	if _, err := s.AcceptInvite(ctx, token, mustUser(t, s, "second@example.com").ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("link reused: %v, want not_found", err)
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var labelled bool
	for _, e := range entries {
		if e.Action == AuditInviteCreate && e.TargetName == AnyoneLabel && e.Detail["anyone"] == true {
			labelled = true
		}
	}
	if !labelled {
		t.Fatalf("no invite.create audited as %q: %+v", AnyoneLabel, entries)
	}
}

// Someone who joined through an "anyone" link with another person's
// address never keeps that person out.
func TestVerifiedSSOReleasesAnUnprovenAddress(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	const iss = "https://idp.example"
	squatter := mustUser(t, s, "ceo@example.com")
	if err := s.AddMember(ctx, team.ID, squatter.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateSession(ctx, squatter.ID, SessionInput{}); err != nil {
		t.Fatal(err)
	}
	// Without the provider's word, the address stays where it is.
	if _, err := s.UpsertOIDCUser(ctx, iss, "ceo", "ceo@example.com", "CEO", false); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("unverified claim: %v, want conflict", err)
	}
	owner, err := s.UpsertOIDCUser(ctx, iss, "ceo", "CEO@example.com", "CEO", true)
	if err != nil {
		t.Fatalf("verified owner signing in: %v", err)
	}
	if owner.ID == squatter.ID || owner.HasPassword || !owner.EmailVerified || !strings.EqualFold(owner.Email, "ceo@example.com") {
		t.Fatalf("owner account = %+v; want a new, verified, password-less one", owner)
	}
	if _, err := s.RoleOf(ctx, team.ID, owner.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatal("the owner inherited the squatter's team")
	}
	moved, err := s.GetUser(ctx, squatter.ID)
	if err != nil || moved.Email != "released-"+squatter.ID+"@invalid" {
		t.Fatalf("squatter = %+v, %v", moved, err)
	}
	var sessions int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM console_sessions WHERE user_id = $1", squatter.ID).Scan(&sessions); err != nil || sessions != 0 {
		t.Fatalf("squatter sessions = %d, %v", sessions, err)
	}
	if _, err := s.AuthenticatePassword(ctx, "ceo@example.com", testPassword); attach.ErrorCode(err) != attach.CodeUnauthorized {
		t.Fatalf("squatter's password still opens the address: %v", err)
	}
	var released int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = $1 AND target_id = $2", AuditUserEmailRelease, squatter.ID).Scan(&released); err != nil || released != 1 {
		t.Fatalf("release audited %d times, %v", released, err)
	}
}

// A proven address and a provider that proves it again are one person:
// the sign-in links to the existing account instead of locking it out.
func TestVerifiedSSOLinksAProvenAccount(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	const iss = "https://idp.example"
	kim := mustVerifiedUser(t, s, "kim@example.com")
	if err := s.AddMember(ctx, team.ID, kim.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	u, err := s.UpsertOIDCUser(ctx, iss, "kim", "kim@example.com", "Kim", true)
	if err != nil || u.ID != kim.ID || u.OIDCIssuer != iss || !u.HasPassword {
		t.Fatalf("link = %+v, %v", u, err)
	}
	again, err := s.UpsertOIDCUser(ctx, iss, "kim", "kim@example.com", "Kim", true)
	if err != nil || again.ID != kim.ID {
		t.Fatalf("second sso sign-in = %+v, %v", again, err)
	}
	// Another identity of the same provider does not take the linked account.
	if _, err := s.UpsertOIDCUser(ctx, iss, "kim-other", "kim@example.com", "Kim", true); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("second identity for a linked account: %v, want conflict", err)
	}
}
