package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity"
)

func TestConsoleTokens(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	local, err := identity.NewLocalIssuer("https://gw.example/console", secret)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	v := identity.NewVerifier(identity.Config{Local: local, Now: clk.Now})
	acme, other := snapshot("acme", 1, nil), snapshot("other", 1, nil)
	ctx := context.Background()

	const sid = "5e55104e"
	tok, exp, err := local.Mint(acme.Team.ID, "user:user-1", sid, "memory:admin", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(ctx, acme, tok)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if p.Subject != "user:user-1" || p.Method != identity.MethodConsole || p.TeamID != acme.Team.ID ||
		len(p.Scopes) != 1 || p.Scopes[0] != "memory:admin" || !p.ExpiresAt.Equal(exp.Truncate(time.Second)) || p.ConsoleSession != sid {
		t.Errorf("principal = %+v", p)
	}

	// Another replica with the same secret accepts it; another install does not.
	twin, _ := identity.NewLocalIssuer("https://gw.example/console", secret)
	if _, err := identity.NewVerifier(identity.Config{Local: twin}).Verify(ctx, acme, tok); err != nil {
		t.Errorf("same secret, other replica: %v", err)
	}
	stranger, _ := identity.NewLocalIssuer("https://gw.example/console", []byte(strings.Repeat("x", 32)))
	_, err = identity.NewVerifier(identity.Config{Local: stranger}).Verify(ctx, acme, tok)
	wantReason(t, err, identity.ReasonBadSignature, tok)

	// Minted for acme, it is no good on another team's URL.
	_, err = v.Verify(ctx, other, tok)
	wantReason(t, err, identity.ReasonWrongAudience, tok)
	// Without a local issuer, the gateway trusts no such tokens.
	_, err = identity.NewVerifier(identity.Config{}).Verify(ctx, acme, tok)
	wantReason(t, err, identity.ReasonUnknownIssuer, tok)

	// A console token names a console user, and only one.
	for _, sub := range []string{"user-1", "user:", "apikey:k1", "user:apikey:k1", "user:user:user-1"} {
		bad, _, err := local.Mint(acme.Team.ID, sub, sid, "", 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, acme, bad); err == nil {
			t.Errorf("a console token for %q was accepted", sub)
		}
	}

	// A console token names the console session it was minted in.
	noSession, _, err := local.Mint(acme.Team.ID, "user:user-1", "", "", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, acme, noSession)
	wantReason(t, err, identity.ReasonConsoleSessionEnded, noSession)

	clk.Advance(12 * time.Minute)
	_, err = identity.NewVerifier(identity.Config{Local: local, Now: clk.Now, CacheSize: -1}).Verify(ctx, acme, tok)
	wantReason(t, err, identity.ReasonExpired, tok)
}
