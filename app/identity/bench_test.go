package identity_test

import (
	"context"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/didtest"
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

// benchVerifyDID verifies one did-jwt-minted token of key type key; with
// the cache off, each round checks the signature (did:key needs no
// fetching: the key is in the DID).
func benchVerifyDID(b *testing.B, key string, req didtest.Request, cfg identity.Config) {
	v := didVerifier(b, cfg)
	team := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey, attach.DIDMethodPKH}})
	req.Key = key
	req.Claims = teamAud
	req.ExpiresIn = 3600
	tok := didtest.Mint(b, req).Token
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

func BenchmarkVerifyDIDKeyEd25519Uncached(b *testing.B) {
	benchVerifyDID(b, didtest.Ed25519, didtest.Request{}, identity.Config{CacheSize: -1})
}

func BenchmarkVerifyDIDKeyP256Uncached(b *testing.B) {
	benchVerifyDID(b, didtest.P256, didtest.Request{}, identity.Config{CacheSize: -1})
}

func BenchmarkVerifyDIDKeySecp256k1Uncached(b *testing.B) {
	benchVerifyDID(b, didtest.Secp256k1, didtest.Request{}, identity.Config{CacheSize: -1})
}

// BenchmarkVerifyDIDPKHUncached recovers the signer's address each time.
func BenchmarkVerifyDIDPKHUncached(b *testing.B) {
	benchVerifyDID(b, didtest.Secp256k1, didtest.Request{Method: "pkh"}, identity.Config{CacheSize: -1})
}

// BenchmarkVerifyDIDCached is the hot path for a DID token seen before.
func BenchmarkVerifyDIDCached(b *testing.B) {
	benchVerifyDID(b, didtest.Ed25519, didtest.Request{}, identity.Config{})
}
