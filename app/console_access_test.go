package app

import (
	"context"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestConsoleTokenFollowsTheSession mints a console page's token on one
// replica and uses it on another: a role taken away, a removal from the
// team and a sign-out each stop it on the very next call, long before its
// ten minutes are over.
func TestConsoleTokenFollowsTheSession(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.PublicURL = "https://gateway.example" // one install, two replicas behind it
	one, two := startGateway(t, cfg), startGateway(t, cfg)
	ctx := context.Background()

	owner := consoleAccount(t, one, "owner@example.test", "Owner")
	bob := consoleAccount(t, one, "bob@example.test", "Bob")
	team := teamWithEngine(t, one, owner, "lab", eng.URL())
	waitFor(t, "team lab and its engine on the second replica", func() bool {
		s, ok := two.dir.Team("lab")
		return ok && len(s.Engines) == 1
	})
	if err := one.store.AddMember(ctx, team.ID, bob.ID, tenants.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	local, err := identity.NewLocalIssuer(cfg.PublicURL+"/console", deriveKey(one.cfg.SecretKey, "attach console tokens v1"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func() (session, token string) {
		t.Helper()
		session, _, err := one.store.CreateSession(ctx, bob.ID, tenants.SessionInput{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := (&minter{local: local, store: one.store}).MintToken(ctx, team, bob, session)
		if err != nil {
			t.Fatal(err)
		}
		return session, m.Token
	}
	chat := func(token string) (int, string) {
		resp, body := call(t, "POST", two.URL+"/t/lab/api/chat", token, chatBody)
		return resp.StatusCode, body
	}
	othersEvents := func(token string) int {
		resp, _ := call(t, "GET", two.URL+"/t/lab/mem/events?user=someone-else", token, "")
		return resp.StatusCode
	}
	refused := func(what, token string) {
		t.Helper()
		before := eng.hits.Load()
		status, body := chat(token)
		if status != 401 || errorCode(t, body) != identity.ReasonConsoleSessionEnded {
			t.Fatalf("%s: %d %s, want 401 %s", what, status, body, identity.ReasonConsoleSessionEnded)
		}
		if eng.hits.Load() != before {
			t.Fatalf("%s: the engine was called", what)
		}
	}

	session, token := mint()
	if status, body := chat(token); status != 200 {
		t.Fatalf("admin's console token: %d %s", status, body)
	}
	if status := othersEvents(token); status != 200 {
		t.Fatalf("an admin reads the team's memory: %d", status)
	}

	// Demoted: the token still chats, but memory-admin went with the role.
	if err := one.store.SetRole(ctx, team.ID, bob.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	if status := othersEvents(token); status != 403 {
		t.Fatalf("a demoted member still reads others' memory: %d", status)
	}
	if status, body := chat(token); status != 200 {
		t.Fatalf("member's console token: %d %s", status, body)
	}

	// Removed from the team: refused at once.
	if err := one.store.RemoveMember(ctx, team.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	refused("after removal", token)

	// Back in the team, then signed out: the token of that session stops.
	if err := one.store.AddMember(ctx, team.ID, bob.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	if status, body := chat(token); status != 200 {
		t.Fatalf("member again, same session: %d %s", status, body)
	}
	if err := one.store.DeleteSession(ctx, session); err != nil {
		t.Fatal(err)
	}
	refused("after sign-out", token)
	_, fresh := mint()
	if status, body := chat(fresh); status != 200 {
		t.Fatalf("a new session's token: %d %s", status, body)
	}
}
