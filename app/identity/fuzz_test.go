package identity_test

import (
	"context"
	"errors"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/didtest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

var knownReasons = map[string]bool{
	identity.ReasonMissingToken: true, identity.ReasonTokenTooLarge: true, identity.ReasonMalformed: true,
	identity.ReasonAlgNotAllowed: true, identity.ReasonBadType: true, identity.ReasonUnknownIssuer: true,
	identity.ReasonUnknownKey: true, identity.ReasonBadSignature: true, identity.ReasonExpired: true,
	identity.ReasonNotYetValid: true, identity.ReasonIssuedInFuture: true, identity.ReasonWrongAudience: true,
	identity.ReasonMissingSubject: true, identity.ReasonIssuerUnavailable: true, identity.ReasonKeyRevoked: true,
	identity.ReasonKeyExpired: true, identity.ReasonUnknownAPIKey: true,
	identity.ReasonReservedSubject: true, identity.ReasonInvalidSubject: true,
	identity.ReasonDIDMethodNotTrusted: true, identity.ReasonDIDNotAllowed: true,
	identity.ReasonDIDUnresolvable: true, identity.ReasonKIDMismatch: true,
}

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// every refusal must be a refused token with a known reason.
func FuzzVerify(f *testing.F) {
	idp := oidctest.Start(f, oidctest.Options{})
	v := identity.NewVerifier(identity.Config{})
	key, keyTok := newKey(f, "k1", nil)
	team := snapshot("a", 1, trust(idp.Issuer(), "api://team-a"), key)
	// DID-JWTs of the methods that need no network reach every DID check.
	team.DID = attach.DIDPolicy{Methods: []string{attach.DIDMethodKey, attach.DIDMethodPKH}, Audiences: []string{"api://team-a"}}
	for _, req := range []didtest.Request{
		{Key: didtest.Ed25519, Kid: "absolute"},
		{Key: didtest.P256},
		{Key: didtest.Secp256k1, Kid: "relative"},
		{Key: didtest.Secp256k1, Method: "pkh"},
	} {
		req.Claims, req.ExpiresIn = map[string]any{"aud": "api://team-a"}, 3600
		f.Add(didtest.Mint(f, req).Token)
	}

	f.Add(idp.Token(f, "api://team-a", "chat"))
	f.Add(idp.TokenAlg(f, "ES256", "api://team-b"))
	f.Add(idp.TokenAlg(f, "EdDSA", "api://team-a"))
	f.Add(keyTok)
	f.Add("atk_0123456789ab_x")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("....")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), team, token)
		if err == nil {
			if p.Subject == "" || p.TeamID != "team-a" {
				t.Fatalf("verified with principal %+v", p)
			}
			return
		}
		var e *attach.Error
		if !errors.As(err, &e) || e.Code != attach.CodeInvalidToken {
			t.Fatalf("error %T %v is not a refused token", err, err)
		}
		if !knownReasons[e.Reason] || e.Message == "" {
			t.Fatalf("error %q / %q", e.Reason, e.Message)
		}
	})
}
