package tenants

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestInviteLifecycle(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	owner := mustUser(t, s, "owner@example.com")
	ctx := actorCtx(t, owner)
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "acme", Name: "Acme"}, owner.ID)
	if err != nil {
		t.Fatal(err)
	}

	iv, token, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "New@Example.com", Role: RoleAdmin, InvitedBy: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q is not 32 bytes of base64url", token)
	}
	if iv.TeamID != team.ID || iv.Email != "New@Example.com" || iv.Role != RoleAdmin || iv.InvitedBy != owner.ID || iv.AcceptedAt != nil {
		t.Fatalf("invite = %+v", iv)
	}
	if d := iv.ExpiresAt.Sub(iv.CreatedAt); d != DefaultInviteTTL {
		t.Fatalf("lifetime = %v, want %v", d, DefaultInviteTTL)
	}
	var stored []byte
	if err := pool.QueryRow(ctx, "SELECT token_hash FROM invites WHERE id = $1", iv.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(token)); !bytes.Equal(stored, sum[:]) {
		t.Fatal("the stored token is not the token's SHA-256")
	}

	pending, err := s.ListInvites(ctx, team.ID)
	if err != nil || len(pending) != 1 || pending[0].ID != iv.ID {
		t.Fatalf("ListInvites = %+v, %v", pending, err)
	}
	got, gotTeam, err := s.InviteByToken(ctx, token)
	if err != nil || got.ID != iv.ID || gotTeam.ID != team.ID || gotTeam.Slug != "acme" {
		t.Fatalf("InviteByToken = %+v, %+v, %v", got, gotTeam, err)
	}

	// The invite is bound to its address: another account is refused, and
	// the link keeps working for the right one.
	other := mustVerifiedUser(t, s, "joiner@example.com")
	if _, err := s.AcceptInvite(ctx, token, other.ID); !isWrongInvitee(err) {
		t.Fatalf("accept by another address: %v, want %s", err, ReasonInviteWrongEmail)
	}
	joiner := mustVerifiedUser(t, s, "new@EXAMPLE.com") // the address differs in case only
	m, err := s.AcceptInvite(actorCtx(t, joiner), token, joiner.ID)
	if err != nil || m.Team.ID != team.ID || m.Role != RoleAdmin {
		t.Fatalf("AcceptInvite = %+v, %v", m, err)
	}
	if r, _ := s.RoleOf(ctx, team.ID, joiner.ID); r != RoleAdmin {
		t.Fatalf("role after accepting = %q", r)
	}

	// One time only.
	late := mustUser(t, s, "late@example.com")
	if _, err := s.AcceptInvite(ctx, token, late.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("second accept: %v, want not_found", err)
	}
	if _, _, err := s.InviteByToken(ctx, token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("used token: %v, want not_found", err)
	}
	if pending, _ := s.ListInvites(ctx, team.ID); len(pending) != 0 {
		t.Fatalf("accepted invite still pending: %+v", pending)
	}

	entries, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := auditActions(entries); !slices.Equal(got, []string{AuditInviteAccept, AuditInviteCreate}) {
		t.Fatalf("audit = %v", got)
	}
	if a := entries[0]; a.ActorID != joiner.ID || a.TargetID != joiner.ID || a.Detail["role"] != "admin" || a.Detail["invite_id"] != iv.ID {
		t.Fatalf("invite.accept = %+v", a)
	}

	for name, tok := range map[string]string{"empty": "", "short": "abc", "unknown": strings.Repeat("A", 43), "bad alphabet": strings.Repeat("*", 43)} {
		if _, _, err := s.InviteByToken(ctx, tok); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("InviteByToken(%s): %v", name, err)
		}
		if _, err := s.AcceptInvite(ctx, tok, late.ID); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("AcceptInvite(%s): %v", name, err)
		}
	}
}

func TestInviteExpires(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	u := mustUser(t, s, "u@example.com")
	iv, token, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "u@example.com", Role: RoleMember, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if d := iv.ExpiresAt.Sub(iv.CreatedAt); d != time.Hour {
		t.Fatalf("lifetime = %v", d)
	}
	if _, err := pool.Exec(ctx, "UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1", iv.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InviteByToken(ctx, token); attach.ErrorCode(err) != attach.CodeExpired {
		t.Fatalf("InviteByToken(expired): %v, want expired", err)
	}
	if _, err := s.AcceptInvite(ctx, token, u.ID); attach.ErrorCode(err) != attach.CodeExpired {
		t.Fatalf("AcceptInvite(expired): %v, want expired", err)
	}
	if _, err := s.RoleOf(ctx, team.ID, u.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatal("an expired invite made a member")
	}
	if pending, _ := s.ListInvites(ctx, team.ID); len(pending) != 0 {
		t.Fatalf("expired invite listed as pending: %+v", pending)
	}
}

func TestInviteKeepsTheHigherRole(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	owner := mustUser(t, s, "owner@example.com")
	adm := mustUser(t, s, "adm@example.com")
	view := mustUser(t, s, "view@example.com")
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "acme", Name: "Acme"}, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, team.ID, adm.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, team.ID, view.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	invite := func(email string, r Role) string {
		t.Helper()
		// An "anyone with the link" invite, so the member may take it.
		_ = email
		_, tok, err := s.CreateInvite(ctx, team.ID, InviteInput{Anyone: true, Role: r})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if m, err := s.AcceptInvite(ctx, invite("x@example.com", RoleViewer), adm.ID); err != nil || m.Role != RoleAdmin {
		t.Fatalf("admin accepting a viewer invite = %+v, %v; want to stay admin", m, err)
	}
	if m, err := s.AcceptInvite(ctx, invite("y@example.com", RoleAdmin), view.ID); err != nil || m.Role != RoleAdmin {
		t.Fatalf("viewer accepting an admin invite = %+v, %v; want admin", m, err)
	}
	if r, _ := s.RoleOf(ctx, team.ID, view.ID); r != RoleAdmin {
		t.Fatalf("stored role = %q", r)
	}
}

func TestInviteRulesAndRevocation(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	owner := mustUser(t, s, "owner@example.com")
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "acme", Name: "Acme"}, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	for field, in := range map[string]InviteInput{
		"email":      {Email: "nope", Role: RoleMember},
		"role":       {Email: "a@example.com", Role: "root"},
		"invited_by": {Email: "a@example.com", Role: RoleMember, InvitedBy: "me"},
		"ttl":        {Email: "a@example.com", Role: RoleMember, TTL: MaxInviteTTL + time.Hour},
		"email ":     {Email: "a@example.com", Anyone: true, Role: RoleMember}, // an "anyone" invite names no one
		"email  ":    {Role: RoleMember},
	} {
		if _, _, err := s.CreateInvite(ctx, team.ID, in); !isValidation(err, strings.TrimSpace(field)) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	if _, _, err := s.CreateInvite(ctx, "0190a1b2-0000-7000-8000-000000000000", InviteInput{Email: "a@example.com", Role: RoleMember}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("invite to a missing team: %v", err)
	}
	if _, _, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "OWNER@example.com", Role: RoleMember}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Errorf("invite a member: %v, want conflict", err)
	}

	// A new invite to the same address replaces the pending one.
	_, oldToken, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "a@example.com", Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	iv, token, err := s.CreateInvite(ctx, team.ID, InviteInput{Email: "A@example.com", Role: RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InviteByToken(ctx, oldToken); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("replaced invite still works: %v", err)
	}
	if pending, _ := s.ListInvites(ctx, team.ID); len(pending) != 1 || pending[0].ID != iv.ID {
		t.Fatalf("pending = %+v", pending)
	}

	other := mustTeam(t, s, "other")
	if err := s.RevokeInvite(ctx, other.ID, iv.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("revoke through another team: %v", err)
	}
	if err := s.RevokeInvite(ctx, team.ID, iv.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InviteByToken(ctx, token); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("revoked invite: %v", err)
	}
	if err := s.RevokeInvite(ctx, team.ID, iv.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("revoke twice: %v", err)
	}
	_, token, err = s.CreateInvite(ctx, team.ID, InviteInput{Email: "b@example.com", Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, token, "0190a1b2-0000-7000-8000-000000000000"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("accept as an unknown user: %v", err)
	}
	if _, _, err := s.InviteByToken(ctx, token); err != nil {
		t.Fatalf("a failed accept spent the invite: %v", err)
	}
}

func TestInviteAcceptedOnceUnderRace(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	users := []User{mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com"), mustUser(t, s, "c@example.com")}
	_, token, err := s.CreateInvite(ctx, team.ID, InviteInput{Anyone: true, Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(users))
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.AcceptInvite(ctx, token, u.ID)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case attach.ErrorCode(err) != attach.CodeNotFound:
			t.Fatal(err)
		}
	}
	var members int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE team_id = $1", team.ID).Scan(&members); err != nil {
		t.Fatal(err)
	}
	if won != 1 || members != 1 {
		t.Fatalf("%d accepts succeeded, %d members; want 1 and 1", won, members)
	}
}
