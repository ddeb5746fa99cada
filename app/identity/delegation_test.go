package identity

import (
	"context"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestDelegationTokens(t *testing.T) {
	d, err := NewDelegator("https://gw.example", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC)
	d.now = func() time.Time { return now }
	team := tenants.NewSnapshot(attach.Team{ID: "team-lab", Slug: "lab"}, nil, nil, nil, nil, 1)
	other := tenants.NewSnapshot(attach.Team{ID: "team-other", Slug: "other"}, nil, nil, nil, nil, 1)
	v := NewVerifier(Config{Delegation: d, Now: func() time.Time { return now }, CacheSize: -1})
	mint := func(dl Delegation) string {
		t.Helper()
		tok, _, err := d.Mint(dl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	dl := Delegation{TeamID: team.Team.ID, TeamSlug: "lab", User: "apikey:123", Session: "s1", Actor: "coder", Task: "t1", Depth: 2}
	tok := mint(dl)

	p, err := v.Verify(context.Background(), team, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The user may be one of the gateway's own principals: the gateway
	// signed it.
	if p.Subject != "apikey:123" || p.Actor != "coder" || p.Session != "s1" || p.Task != "t1" || p.Depth != 2 || p.Method != MethodDelegation {
		t.Errorf("principal = %+v", p)
	}
	if _, err := v.Verify(context.Background(), other, tok); err == nil || AsError(err).Reason != ReasonWrongAudience {
		t.Errorf("another team: %v", err)
	}

	// The key rotates at midnight; yesterday's tokens still verify until
	// they expire.
	now = now.Add(5 * time.Minute)
	if _, err := v.Verify(context.Background(), team, tok); err != nil {
		t.Errorf("token of the previous period: %v", err)
	}
	if fresh := mint(dl); strings.Split(fresh, ".")[0] == strings.Split(tok, ".")[0] {
		t.Error("the new period signs with the same key")
	}
	now = now.Add(7 * time.Minute) // past expiry and the leeway
	if _, err := v.Verify(context.Background(), team, tok); err == nil || AsError(err).Reason != ReasonExpired {
		t.Errorf("expired token: %v", err)
	}

	// Another install's key, or a changed claim, does not verify.
	foreign, _ := NewDelegator("https://gw.example", []byte("another secret key of 32 bytes!!"))
	foreign.now = d.now
	ftok, _, _ := foreign.Mint(dl)
	if _, err := v.Verify(context.Background(), team, ftok); err == nil || AsError(err).Reason != ReasonBadSignature {
		t.Errorf("token of another install: %v", err)
	}
	parts := strings.Split(mint(dl), ".")
	parts[1] = parts[1][:len(parts[1])-2] + "xx"
	if _, err := v.Verify(context.Background(), team, strings.Join(parts, ".")); err == nil {
		t.Error("tampered token accepted")
	}

	set, err := d.JWKS()
	if err != nil || len(set.Keys) != 3 {
		t.Fatalf("jwks: %v %v", set, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Error("the key set holds a private key")
		}
	}
}
