package identity_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/didtest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

const gatewayURL = "https://gw.example"

// didTeam is team slug trusting policy for DID-JWTs.
func didTeam(slug string, policy attach.DIDPolicy) *tenants.Snapshot {
	s := snapshot(slug, 1, nil)
	s.DID = policy
	return s
}

func didVerifier(t testing.TB, cfg identity.Config) *identity.Verifier {
	cfg.PublicURL = gatewayURL
	cfg.DefaultTeam = "default"
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	return identity.NewVerifier(cfg)
}

var allMethods = []string{attach.DIDMethodKey, attach.DIDMethodPKH, attach.DIDMethodWeb}

// teamAud is the aud a token for team "a" carries.
var teamAud = map[string]any{"aud": gatewayURL + "/t/a"}

func TestDIDKeyEachKeyTypeVerifies(t *testing.T) {
	v := didVerifier(t, identity.Config{})
	team := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}})
	for _, tc := range []struct{ key, kid string }{
		{didtest.Ed25519, "none"}, {didtest.Ed25519, "absolute"},
		{didtest.P256, "relative"}, {didtest.P256, "none"},
		{didtest.Secp256k1, "absolute"}, {didtest.Secp256k1, "none"},
	} {
		t.Run(tc.key+"/kid-"+tc.kid, func(t *testing.T) {
			tok := didtest.Mint(t, didtest.Request{Key: tc.key, Kid: tc.kid, Claims: map[string]any{"aud": gatewayURL + "/t/a", "scope": "chat"}, ExpiresIn: 600, Check: true})
			p, err := v.Verify(context.Background(), team, tok.Token)
			if err != nil {
				t.Fatalf("verify %s: %v", tok.DID, err)
			}
			if p.Subject != tok.DID || p.Issuer != tok.DID || p.Method != attach.MethodDID || p.TeamSlug != "a" {
				t.Fatalf("principal %+v, want subject and issuer %s, method did", p, tok.DID)
			}
			if len(p.Scopes) != 1 || p.Scopes[0] != "chat" {
				t.Errorf("scopes %v, want [chat]", p.Scopes)
			}
			if p.ExpiresAt.IsZero() || p.ExpiresAt.Before(time.Now()) {
				t.Errorf("expires at %v", p.ExpiresAt)
			}
		})
	}
}

func TestDIDKeyForgedRefused(t *testing.T) {
	ctx := context.Background()
	v := didVerifier(t, identity.Config{CacheSize: -1})
	keyTeam := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}})
	now := time.Now()
	other := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600})

	cases := []struct {
		name   string
		req    didtest.Request
		team   *tenants.Snapshot
		reason string
	}{
		{"signed by another key", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{OtherKey: true}}, keyTeam, identity.ReasonBadSignature},
		{"p256 signed by another key", didtest.Request{Key: didtest.P256, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{OtherKey: true}}, keyTeam, identity.ReasonBadSignature},
		{"secp256k1 signed by another key", didtest.Request{Key: didtest.Secp256k1, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{OtherKey: true}}, keyTeam, identity.ReasonBadSignature},
		{"iss is another DID than the kid's", didtest.Request{Key: didtest.Ed25519, Kid: "absolute", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: other.DID}}, keyTeam, identity.ReasonKIDMismatch},
		{"iss is another DID, no kid", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: other.DID}}, keyTeam, identity.ReasonBadSignature},
		{"kid names another key of did:key", didtest.Request{Key: didtest.Ed25519, Kid: "#" + strings.TrimPrefix(other.DID, "did:key:"), Claims: teamAud, ExpiresIn: 600}, keyTeam, identity.ReasonKIDMismatch},
		{"kid names another DID", didtest.Request{Key: didtest.Ed25519, Kid: other.Kid + other.DID + "#x", Claims: teamAud, ExpiresIn: 600}, keyTeam, identity.ReasonKIDMismatch},
		{"alg of another key type", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Alg: "ES256K"}}, keyTeam, identity.ReasonAlgNotAllowed},
		{"expired", didtest.Request{Key: didtest.P256, Claims: map[string]any{"aud": gatewayURL + "/t/a", "exp": now.Add(-time.Hour).Unix()}}, keyTeam, identity.ReasonExpired},
		{"no exp", didtest.Request{Key: didtest.P256, Claims: teamAud}, keyTeam, identity.ReasonMalformed},
		{"not yet valid", didtest.Request{Key: didtest.P256, Claims: map[string]any{"aud": gatewayURL + "/t/a", "nbf": now.Add(time.Hour).Unix()}, ExpiresIn: 600}, keyTeam, identity.ReasonNotYetValid},
		{"wrong aud", didtest.Request{Key: didtest.Secp256k1, Claims: map[string]any{"aud": gatewayURL + "/t/b"}, ExpiresIn: 600}, keyTeam, identity.ReasonWrongAudience},
		{"no aud", didtest.Request{Key: didtest.Secp256k1, ExpiresIn: 600}, keyTeam, identity.ReasonWrongAudience},
		{"bare gateway URL for a team that is not the default", didtest.Request{Key: didtest.Ed25519, Claims: map[string]any{"aud": gatewayURL}, ExpiresIn: 600}, keyTeam, identity.ReasonWrongAudience},
		{"method not trusted", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600}, didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodWeb}}), identity.ReasonDIDMethodNotTrusted},
		{"team takes no DIDs", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600}, didTeam("a", attach.DIDPolicy{}), identity.ReasonDIDMethodNotTrusted},
		{"unsupported method", didtest.Request{Key: didtest.Secp256k1, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: "did:ethr:0x8b332b883833e0475fb92decb89312891f4f2812"}}, didTeam("a", attach.DIDPolicy{Methods: append([]string{"ethr"}, allMethods...)}), identity.ReasonDIDMethodNotTrusted},
		{"not on the allow-list", didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600}, didTeam("a", attach.DIDPolicy{Methods: allMethods, Allow: []string{other.DID}}), identity.ReasonDIDNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := didtest.Mint(t, tc.req)
			_, err := v.Verify(ctx, tc.team, tok.Token)
			wantReason(t, err, tc.reason, tok.Token)
		})
	}
}

func TestDIDKeyAudiencesAndAllowList(t *testing.T) {
	ctx := context.Background()
	v := didVerifier(t, identity.Config{CacheSize: -1})
	tok := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Claims: map[string]any{"aud": []string{"urn:other", "agents.example"}}, ExpiresIn: 600})
	team := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}, Allow: []string{tok.DID}, Audiences: []string{"agents.example"}})
	if _, err := v.Verify(ctx, team, tok.Token); err != nil {
		t.Fatalf("configured audience, allowed DID: %v", err)
	}
	_, err := v.Verify(ctx, didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}}), tok.Token)
	wantReason(t, err, identity.ReasonWrongAudience, tok.Token)

	// The default team also answers at the gateway's root URL.
	root := didtest.Mint(t, didtest.Request{Key: didtest.P256, Claims: map[string]any{"aud": gatewayURL}, ExpiresIn: 600})
	if _, err := v.Verify(ctx, didTeam("default", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}}), root.Token); err != nil {
		t.Fatalf("default team, root aud: %v", err)
	}

	// A token for the team's gateway URL is not one for a resource.
	res := "https://gw.example/t/a/mcp/files"
	_, err = v.VerifyResource(ctx, team, tok.Token, res)
	wantReason(t, err, identity.ReasonWrongAudience, tok.Token)
	forRes := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Claims: map[string]any{"aud": res}, ExpiresIn: 600})
	if _, err := v.VerifyResource(ctx, didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}}), forRes.Token, res); err != nil {
		t.Fatalf("resource token: %v", err)
	}
}

// TestDIDKeyHighSRefused checks that the second encoding of an ES256K
// signature (s replaced by n-s, equally valid to plain ECDSA) is refused,
// while did-jwt's own low-S signature passes.
func TestDIDKeyHighSRefused(t *testing.T) {
	v := didVerifier(t, identity.Config{CacheSize: -1})
	team := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}})
	tok := didtest.Mint(t, didtest.Request{Key: didtest.Secp256k1, Claims: teamAud, ExpiresIn: 600})
	if _, err := v.Verify(context.Background(), team, tok.Token); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	var s secp256k1.ModNScalar
	s.SetByteSlice(sig[32:])
	s.Negate()
	high := s.Bytes()
	copy(sig[32:], high[:])
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	_, err := v.Verify(context.Background(), team, forged)
	wantReason(t, err, identity.ReasonBadSignature, forged)
}

func TestDIDPKH(t *testing.T) {
	ctx := context.Background()
	v := didVerifier(t, identity.Config{CacheSize: -1})
	team := didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodPKH}})
	tok := didtest.Mint(t, didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600})
	p, err := v.Verify(ctx, team, tok.Token)
	if err != nil {
		t.Fatalf("verify %s: %v", tok.DID, err)
	}
	if p.Subject != tok.DID || p.Method != attach.MethodDID {
		t.Fatalf("principal %+v", p)
	}
	if hdr := oidctest.JWTPart(t, tok.Token, 0); hdr["alg"] != "ES256K-R" {
		t.Fatalf("did-jwt signed with %v, want ES256K-R", hdr["alg"])
	}

	// The address is compared without regard to case (EIP-55 checksums).
	upper := didtest.Mint(t, didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{UpperAddress: true}})
	if p, err := v.Verify(ctx, team, upper.Token); err != nil || p.Subject != upper.DID {
		t.Fatalf("upper-case address %s: %+v %v", upper.DID, p, err)
	}
	for _, tc := range []struct {
		name   string
		req    didtest.Request
		team   *tenants.Snapshot
		reason string
	}{
		{"another account", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: "did:pkh:eip155:1:" + strings.ToLower(upper.Address)}}, team, identity.ReasonBadSignature},
		{"signed by another key", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{OtherKey: true}}, team, identity.ReasonBadSignature},
		{"not ES256K-R", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Alg: "ES256K"}}, team, identity.ReasonAlgNotAllowed},
		{"kid of another DID", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Kid: tok.DID + "#blockchainAccountId", Claims: teamAud, ExpiresIn: 600}, team, identity.ReasonKIDMismatch},
		{"not a supported chain", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: "did:pkh:solana:4sGjMW1sUnHzSxGspuhpqLDx6wiyjNtZ:7S3P4HxJpyyigGzodYwHtCxZyUQe9JiBMHyRWXArAaKv"}}, team, identity.ReasonDIDUnresolvable},
		{"expired", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: map[string]any{"aud": gatewayURL + "/t/a", "exp": time.Now().Add(-time.Hour).Unix()}}, team, identity.ReasonExpired},
		{"pkh not trusted", didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600}, didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}}), identity.ReasonDIDMethodNotTrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := didtest.Mint(t, tc.req)
			_, err := v.Verify(ctx, tc.team, tok.Token)
			wantReason(t, err, tc.reason, tok.Token)
		})
	}
}
