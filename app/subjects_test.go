package app

import (
	"context"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestSubjectsCannotPoseAsOtherPrincipals signs tokens with the team's own
// IdP whose user claim names an API key's principal, or carries control
// characters: each is refused with a reason before any engine or memory
// sees it, while ordinary subjects keep the X-Attach-User they always had.
func TestSubjectsCannotPoseAsOtherPrincipals(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	key := memKey(t, gw, gw.cfg.DefaultTeam)
	keys := adminClient(t, gw).do("GET", "/teams/"+gw.cfg.DefaultTeam+"/keys", "", 200)["items"].([]any)
	keyID := keys[0].(map[string]any)["id"].(string)
	if resp, body := call(t, "POST", gw.URL+"/mem/events", key, `{"kind":"note","content":"the key's own note"}`); resp.StatusCode != 201 {
		t.Fatalf("note by the key: %d %s", resp.StatusCode, body)
	}

	cases := []struct{ name, sub, reason string }{
		{"an API key's principal", "apikey:" + keyID, "reserved_subject"},
		{"an API key's principal, upper case", "APIKEY:" + keyID, "reserved_subject"},
		{"a console user's principal", "user:0190a1b2-0000-7000-8000-000000000001", "reserved_subject"},
		{"a console user's principal, mixed case", "User:0190a1b2-0000-7000-8000-000000000001", "reserved_subject"},
		{"NUL", "alice\x00bob", "invalid_subject"},
		{"CR LF", "alice\r\nX-Attach-User: admin", "invalid_subject"},
		{"LF", "alice\nbob", "invalid_subject"},
		{"unit separator", "alice\x1fbob", "invalid_subject"},
		{"DEL", "alice\x7f", "invalid_subject"},
	}
	before := eng.hits.Load()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := memberToken(t, idp, "api://default", tc.sub)
			for _, path := range []string{"/api/chat", "/mem/events"} {
				method, body := "POST", chatBody
				if path == "/mem/events" {
					method, body = "GET", ""
				}
				resp, got := call(t, method, gw.URL+path, tok, body)
				if resp.StatusCode != 401 {
					t.Fatalf("%s: status %d, want 401: %s", path, resp.StatusCode, got)
				}
				if code := errorCode(t, got); code != tc.reason {
					t.Errorf("%s: reason %q, want %q", path, code, tc.reason)
				}
				if wa := resp.Header.Get("WWW-Authenticate"); !strings.Contains(wa, `error="invalid_token"`) {
					t.Errorf("%s: WWW-Authenticate %q", path, wa)
				}
			}
		})
	}
	if n := eng.hits.Load() - before; n != 0 {
		t.Fatalf("the engine was called %d times by refused subjects", n)
	}

	// Ordinary subjects, colons and all, are stamped as they are.
	for _, sub := range []string{"alice", "auth0|65f0c1", "urn:example:apikey:1", "apikey-fan"} {
		resp, body := call(t, "POST", gw.URL+"/api/chat", memberToken(t, idp, "api://default", sub), chatBody)
		if resp.StatusCode != 200 {
			t.Fatalf("subject %q: status %d: %s", sub, resp.StatusCode, body)
		}
		if up, _ := eng.lastRequest(); up.Header.Get("X-Attach-User") != sub {
			t.Errorf("subject %q: engine saw X-Attach-User %q", sub, up.Header.Get("X-Attach-User"))
		}
	}
}

// TestConsoleUsersHaveTheirOwnSubjects: a console user calls the gateway as
// "user:<id>", so a token of the team's IdP whose sub is that user's bare id
// is someone else, who does not read the console user's memory.
func TestConsoleUsersHaveTheirOwnSubjects(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	ctx := context.Background()
	alice := consoleAccount(t, gw, "alice@example.test", "Alice")
	snap, ok := gw.dir.Team(gw.cfg.DefaultTeam)
	if !ok {
		t.Fatal("no default team")
	}
	if err := gw.store.AddMember(ctx, snap.Team.ID, alice.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	local, err := identity.NewLocalIssuer(gw.cfg.PublicURL+"/console", deriveKey(gw.cfg.SecretKey, "attach console tokens v1"))
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := gw.store.CreateSession(ctx, alice.ID, tenants.SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	minted, err := (&minter{local: local, store: gw.store}).MintToken(ctx, snap.Team, alice, session)
	if err != nil {
		t.Fatal(err)
	}
	if want := attach.UserSubject(alice.ID); minted.Subject != want {
		t.Fatalf("console token subject %q, want %q", minted.Subject, want)
	}
	if resp, body := call(t, "POST", gw.URL+"/mem/events", minted.Token, `{"kind":"note","content":"alice's own note"}`); resp.StatusCode != 201 {
		t.Fatalf("note by alice: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", gw.URL+"/mem/events", minted.Token, ""); resp.StatusCode != 200 ||
		!strings.Contains(body, "alice's own note") || !strings.Contains(body, `"user":"user:`+alice.ID+`"`) {
		t.Fatalf("alice's own memory: %d %s", resp.StatusCode, body)
	}

	// An issuer's user whose sub happens to be alice's id.
	namesake := memberToken(t, idp, "api://default", alice.ID)
	resp, body := call(t, "GET", gw.URL+"/mem/events", namesake, "")
	if resp.StatusCode != 200 {
		t.Fatalf("namesake's memory: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "alice's own note") {
		t.Fatalf("a token whose sub is a console user's id read that user's memory: %s", body)
	}
}
