package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity"
)

func TestTokenCache(t *testing.T) {
	t.Parallel()
	idp, team := startTeamIdP(t)
	clk := newClock()
	leeway := 30 * time.Second
	v := identity.NewVerifier(identity.Config{Now: clk.Now, Leeway: leeway, Logger: testLogger(t)})
	ctx := context.Background()

	t.Run("a cached token still fails after exp", func(t *testing.T) {
		c := claimsAt(idp.Issuer(), "api://team-a", clk.Now())
		exp := clk.Now().Add(2 * time.Minute).Truncate(time.Second)
		c["exp"] = exp.Unix()
		tok := idp.Sign(t, "RS256", c)
		if _, err := v.Verify(ctx, team, tok); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		if _, err := v.Verify(ctx, team, tok); err != nil {
			t.Fatalf("one minute before exp: %v", err)
		}
		clk.Advance(time.Minute + leeway)
		_, err := v.Verify(ctx, team, tok)
		e := wantReason(t, err, identity.ReasonExpired, tok)
		if want := "token expired at " + exp.UTC().Format(time.RFC3339); e.Message != want {
			t.Errorf("description %q, want %q", e.Message, want)
		}
	})

	t.Run("a new snapshot version misses the cache", func(t *testing.T) {
		tok := idp.Token(t, "api://team-a")
		if _, err := v.Verify(ctx, team, tok); err != nil {
			t.Fatal(err)
		}
		// The team now expects another audience: the token verified under
		// version 1 must be checked again, and fail.
		changed := snapshot("a", 2, trust(idp.Issuer(), "api://team-a-v2"))
		_, err := v.Verify(ctx, changed, tok)
		wantReason(t, err, identity.ReasonWrongAudience, tok)
		// Version 1 is still what it was.
		if _, err := v.Verify(ctx, team, tok); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a cached principal is a copy", func(t *testing.T) {
		tok := idp.Token(t, "api://team-a", "chat")
		p, err := v.Verify(ctx, team, tok)
		if err != nil {
			t.Fatal(err)
		}
		p.Scopes[0] = "admin"
		again, err := v.Verify(ctx, team, tok)
		if err != nil {
			t.Fatal(err)
		}
		if again.Scopes[0] != "chat" {
			t.Errorf("cached scopes changed to %q by a caller", again.Scopes)
		}
	})
}
