package identity_test

import (
	"context"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

func benchVerify(b *testing.B, cfg identity.Config) {
	idp := oidctest.Start(b, oidctest.Options{})
	v := identity.NewVerifier(cfg)
	team := snapshot("a", 1, trust(idp.Issuer(), "api://team-a"))
	tok := idp.Token(b, "api://team-a", "chat")
	ctx := context.Background()
	if _, err := v.Verify(ctx, team, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, team, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is the hot path: an RS256 token seen before.
func BenchmarkVerifyCached(b *testing.B) { benchVerify(b, identity.Config{}) }

// BenchmarkVerifyUncached checks the RS256 signature and claims every time.
func BenchmarkVerifyUncached(b *testing.B) { benchVerify(b, identity.Config{CacheSize: -1}) }

func BenchmarkVerifyAPIKey(b *testing.B) {
	v := identity.NewVerifier(identity.Config{})
	key, tok := newKey(b, "k1", nil)
	team := snapshot("a", 1, nil, key)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, team, tok); err != nil {
			b.Fatal(err)
		}
	}
}
