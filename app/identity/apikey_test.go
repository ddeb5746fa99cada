package identity_test

import (
	"context"
	"slices"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
)

func newKey(t testing.TB, id string, change func(*attach.APIKey)) (attach.APIKey, string) {
	t.Helper()
	token, prefix, hash, err := attach.NewAPIKeyToken()
	if err != nil {
		t.Fatal(err)
	}
	k := attach.APIKey{ID: id, TeamID: "team-a", Name: "key " + id, Prefix: prefix, Hash: hash, Scopes: []string{"chat"}}
	if change != nil {
		change(&k)
	}
	return k, token
}

func TestVerifyAPIKeys(t *testing.T) {
	t.Parallel()
	clk := newClock()
	v := identity.NewVerifier(identity.Config{Now: clk.Now})
	ctx := context.Background()
	past, future := clk.Now().Add(-time.Minute), clk.Now().Add(time.Hour)

	good, goodTok := newKey(t, "k-good", func(k *attach.APIKey) { k.ExpiresAt = &future })
	revoked, revokedTok := newKey(t, "k-revoked", func(k *attach.APIKey) { k.RevokedAt = &past })
	expired, expiredTok := newKey(t, "k-expired", func(k *attach.APIKey) { k.ExpiresAt = &past })
	_, strangerTok := newKey(t, "k-stranger", nil) // minted, but not in this team
	team := snapshot("a", 1, nil, good, revoked, expired)

	p, err := v.Verify(ctx, team, goodTok)
	if err != nil {
		t.Fatalf("good key: %v", err)
	}
	want := attach.Principal{
		TeamID: "team-a", TeamSlug: "a", Subject: "apikey:k-good", Issuer: attach.IssuerAPIKey,
		Method: attach.MethodAPIKey, KeyID: "k-good", Scopes: []string{"chat"}, ExpiresAt: future,
	}
	if p.Subject != want.Subject || p.Issuer != want.Issuer || p.Method != want.Method || p.KeyID != want.KeyID ||
		p.TeamID != want.TeamID || p.TeamSlug != want.TeamSlug || !slices.Equal(p.Scopes, want.Scopes) || !p.ExpiresAt.Equal(future) {
		t.Errorf("principal %+v, want %+v", p, want)
	}

	wrongSecret := goodTok[:len(goodTok)-4] + "AAAA"
	if wrongSecret == goodTok {
		wrongSecret = goodTok[:len(goodTok)-4] + "BBBB"
	}
	cases := []struct {
		name, token, reason string
	}{
		{"revoked", revokedTok, identity.ReasonKeyRevoked},
		{"expired", expiredTok, identity.ReasonKeyExpired},
		{"unknown prefix", strangerTok, identity.ReasonUnknownAPIKey},
		{"wrong secret", wrongSecret, identity.ReasonUnknownAPIKey},
		{"malformed", "atk_nothex!!!!!!_secret", identity.ReasonMalformed},
		{"scheme only", "atk_", identity.ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ctx, team, tc.token)
			wantReason(t, err, tc.reason, tc.token)
		})
	}

	// Revocation bites on the very next call: keys are never cached.
	t.Run("revoked after use", func(t *testing.T) {
		now := clk.Now()
		good.RevokedAt = &now
		changed := snapshot("a", 2, nil, good)
		_, err := v.Verify(ctx, changed, goodTok)
		wantReason(t, err, identity.ReasonKeyRevoked, goodTok)
	})
	t.Run("key expires while in use", func(t *testing.T) {
		k, tok := newKey(t, "k-short", func(k *attach.APIKey) { at := clk.Now().Add(time.Minute); k.ExpiresAt = &at })
		team := snapshot("a", 3, nil, k)
		if _, err := v.Verify(ctx, team, tok); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		_, err := v.Verify(ctx, team, tok)
		wantReason(t, err, identity.ReasonKeyExpired, tok)
	})
}
