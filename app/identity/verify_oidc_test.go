package identity_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestVerifyTokensFromProvider(t *testing.T) {
	t.Parallel()
	idp, teamA := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	ctx := context.Background()

	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			tok := idp.TokenAlg(t, alg, "api://team-a", "chat", "models")
			p, err := v.Verify(ctx, teamA, tok)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			client := "gateway-" + strings.ToLower(alg)
			if p.Subject != client || p.ClientID != client || p.Issuer != idp.Issuer() || p.Method != attach.MethodOIDC {
				t.Errorf("principal %+v", p)
			}
			if p.TeamID != "team-a" || p.TeamSlug != "a" {
				t.Errorf("team %q/%q, want team-a/a", p.TeamID, p.TeamSlug)
			}
			if !slices.Equal(p.Scopes, []string{"chat", "models"}) {
				t.Errorf("scopes %q, want [chat models]", p.Scopes)
			}
			if !p.ExpiresAt.After(time.Now()) {
				t.Errorf("expires at %v, in the past", p.ExpiresAt)
			}
		})
	}

	now := time.Now()
	crafted := []struct {
		name   string
		typ    string
		claims func(map[string]any)
		check  func(t *testing.T, p attach.Principal)
	}{
		{name: "aud array", typ: "JWT", claims: func(c map[string]any) { c["aud"] = []string{"api://other", "api://team-a"} }},
		{name: "typ at+jwt", typ: "at+jwt"},
		{name: "typ application/AT+JWT", typ: "application/AT+JWT"},
		{name: "no typ", typ: ""},
		{name: "scp array and azp", typ: "JWT",
			claims: func(c map[string]any) { c["scp"] = []string{"read", "write"}; c["azp"] = "web-app" },
			check: func(t *testing.T, p attach.Principal) {
				if !slices.Equal(p.Scopes, []string{"read", "write"}) || p.ClientID != "web-app" {
					t.Errorf("scopes %q client %q, want [read write] web-app", p.Scopes, p.ClientID)
				}
			}},
		{name: "nbf and iat within leeway", typ: "JWT",
			claims: func(c map[string]any) {
				c["nbf"] = now.Add(30 * time.Second).Unix()
				c["iat"] = now.Add(30 * time.Second).Unix()
			}},
	}
	for _, tc := range crafted {
		t.Run("crafted/"+tc.name, func(t *testing.T) {
			c := claimsAt(idp.Issuer(), "api://team-a", now)
			if tc.claims != nil {
				tc.claims(c)
			}
			tok := craft(t, "RS256", idp.PrivateKey("RS256"), idp.KeyID("RS256"), tc.typ, c)
			p, err := v.Verify(ctx, teamA, tok)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if p.Subject != "alice" {
				t.Errorf("subject %q, want alice", p.Subject)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}

	t.Run("no kid tries keys of the algorithm", func(t *testing.T) {
		tok := craft(t, "ES256", idp.PrivateKey("ES256"), "", "JWT", claimsAt(idp.Issuer(), "api://team-a", now))
		if _, err := v.Verify(ctx, teamA, tok); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})

	t.Run("configured user claim", func(t *testing.T) {
		team := snapshot("email", 1, []attach.Issuer{{URL: idp.Issuer(), Audience: "api://team-a", UserClaim: "email"}})
		c := claimsAt(idp.Issuer(), "api://team-a", now)
		c["email"] = "alice@example.test"
		p, err := v.Verify(ctx, team, idp.Sign(t, "RS256", c))
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if p.Subject != "alice@example.test" {
			t.Errorf("subject %q, want the email", p.Subject)
		}
	})

	t.Run("several entries for one issuer", func(t *testing.T) {
		team := snapshot("multi", 1, []attach.Issuer{
			{ID: "one", URL: idp.Issuer(), Audience: "api://one"},
			{ID: "two", URL: idp.Issuer(), Audience: "api://two"},
		})
		for _, aud := range []string{"api://one", "api://two"} {
			if _, err := v.Verify(ctx, team, idp.Token(t, aud)); err != nil {
				t.Errorf("audience %s: %v", aud, err)
			}
		}
		e := wantReason(t, mustFail(v.Verify(ctx, team, idp.Token(t, "api://three"))), identity.ReasonWrongAudience, "")
		if e.Message != `token audience does not include "api://one" or "api://two"` {
			t.Errorf("description %q", e.Message)
		}
	})
}

func mustFail(_ attach.Principal, err error) error { return err }

func TestVerifyRefusesBadTokens(t *testing.T) {
	t.Parallel()
	idp, teamA := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	teamB := snapshot("b", 1, trust(idp.Issuer(), "api://team-b"))
	rsOnly := snapshot("rs", 1, []attach.Issuer{{URL: idp.Issuer(), Audience: "api://team-a", Algorithms: []string{"RS256"}}})
	ctx := context.Background()
	now := time.Now()

	good := idp.Token(t, "api://team-a")
	parts := strings.Split(good, ".")
	rsaPub := idp.PrivateKey("RS256").Public().(*rsa.PublicKey)
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kid := idp.KeyID("RS256")
	valid := func(change func(map[string]any)) map[string]any {
		c := claimsAt(idp.Issuer(), "api://team-a", now)
		if change != nil {
			change(c)
		}
		return c
	}
	signed := func(change func(map[string]any)) string {
		return craft(t, "RS256", idp.PrivateKey("RS256"), kid, "JWT", valid(change))
	}
	altered := func() string {
		var c map[string]any
		if err := json.Unmarshal(mustDecode(t, parts[1]), &c); err != nil {
			t.Fatal(err)
		}
		c["sub"] = "admin"
		b, _ := json.Marshal(c)
		return parts[0] + "." + b64(b) + "." + parts[2]
	}

	cases := []struct {
		name   string
		team   *tenants.Snapshot
		token  string
		reason string
		desc   string // exact description, when it matters
	}{
		{name: "empty", token: "", reason: identity.ReasonMissingToken},
		{name: "100 KB", token: strings.Repeat("a", 100<<10), reason: identity.ReasonTokenTooLarge},
		{name: "not a JWT", token: "hello, world", reason: identity.ReasonMalformed},
		{name: "three dots of junk", token: "a.b.c", reason: identity.ReasonMalformed},
		{name: "encrypted", token: "a.b.c.d.e", reason: identity.ReasonMalformed},
		{name: "alg none", token: b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(mustJSON(t, valid(nil))) + ".", reason: identity.ReasonAlgNotAllowed},
		{name: "HS256 keyed with the PEM public key", token: craft(t, "HS256", pemBytes, kid, "JWT", valid(nil)), reason: identity.ReasonAlgNotAllowed},
		{name: "HS256 keyed with the DER public key", token: craft(t, "HS256", der, kid, "JWT", valid(nil)), reason: identity.ReasonAlgNotAllowed},
		{name: "typ JOSE", token: craft(t, "RS256", idp.PrivateKey("RS256"), kid, "JOSE", valid(nil)), reason: identity.ReasonBadType},
		{name: "expired", token: signed(func(c map[string]any) {
			c["iat"] = time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC).Unix()
			c["exp"] = time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC).Unix()
		}), reason: identity.ReasonExpired, desc: "token expired at 2025-01-02T10:00:00Z"},
		{name: "nbf in the future", token: signed(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), reason: identity.ReasonNotYetValid},
		{name: "iat in the future", token: signed(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), reason: identity.ReasonIssuedInFuture},
		{name: "no exp", token: signed(func(c map[string]any) { delete(c, "exp") }), reason: identity.ReasonMalformed},
		{name: "exp not a number", token: signed(func(c map[string]any) { c["exp"] = "tomorrow" }), reason: identity.ReasonMalformed},
		{name: "wrong aud", token: signed(func(c map[string]any) { c["aud"] = "api://elsewhere" }), reason: identity.ReasonWrongAudience,
			desc: `token audience does not include "api://team-a"`},
		{name: "no aud", token: signed(func(c map[string]any) { delete(c, "aud") }), reason: identity.ReasonWrongAudience},
		{name: "wrong iss", token: signed(func(c map[string]any) { c["iss"] = "https://evil.example" }), reason: identity.ReasonUnknownIssuer},
		{name: "iss with trailing slash", token: signed(func(c map[string]any) { c["iss"] = idp.Issuer() + "/" }), reason: identity.ReasonUnknownIssuer},
		{name: "no sub", token: signed(func(c map[string]any) { delete(c, "sub") }), reason: identity.ReasonMissingSubject},
		{name: "empty sub", token: signed(func(c map[string]any) { c["sub"] = "" }), reason: identity.ReasonMissingSubject},
		{name: "unknown kid", token: craft(t, "RS256", newRSAKey(t), "no-such-kid", "JWT", valid(nil)), reason: identity.ReasonUnknownKey},
		{name: "signed by another key under the issuer's kid", token: craft(t, "RS256", newRSAKey(t), kid, "JWT", valid(nil)), reason: identity.ReasonBadSignature},
		{name: "payload altered after signing", token: altered(), reason: identity.ReasonBadSignature},
		{name: "signature stripped", token: parts[0] + "." + parts[1] + ".", reason: identity.ReasonBadSignature},
		{name: "signature truncated", token: parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-10], reason: identity.ReasonBadSignature},
		{name: "truncated in the payload", token: parts[0] + "." + parts[1][:len(parts[1])/2], reason: identity.ReasonMalformed},
		{name: "valid for team A, presented to team B", team: teamB, token: good, reason: identity.ReasonWrongAudience,
			desc: `token audience does not include "api://team-b"`},
		{name: "algorithm the team does not accept", team: rsOnly, token: idp.TokenAlg(t, "ES256", "api://team-a"), reason: identity.ReasonAlgNotAllowed},
		{name: "ES256 token naming the RSA key", token: craft(t, "ES256", idp.PrivateKey("ES256"), kid, "JWT", valid(nil)), reason: identity.ReasonUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			team := tc.team
			if team == nil {
				team = teamA
			}
			_, err := v.Verify(ctx, team, tc.token)
			e := wantReason(t, err, tc.reason, tc.token)
			if tc.desc != "" && e.Message != tc.desc {
				t.Errorf("description %q, want %q", e.Message, tc.desc)
			}
		})
	}

	// The good token itself still passes: the failures above are the
	// tokens' fault, not the verifier's.
	if _, err := v.Verify(ctx, teamA, good); err != nil {
		t.Fatalf("good token: %v", err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyResourceWantsTheResourceAsAudience(t *testing.T) {
	t.Parallel()
	idp, teamA := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	ctx := context.Background()
	const resource = "https://gw.example/t/a/mcp/files"

	tok := idp.TokenAlg(t, "RS256", resource, "tools")
	if _, err := v.VerifyResource(ctx, teamA, tok, resource); err != nil {
		t.Fatalf("token for the resource: %v", err)
	}
	if _, err := v.Verify(ctx, teamA, tok); identity.AsError(err).Reason != identity.ReasonWrongAudience {
		t.Errorf("resource token on the team's routes: %v, want %s", err, identity.ReasonWrongAudience)
	}
	teamTok := idp.TokenAlg(t, "RS256", "api://team-a", "tools")
	for _, other := range []string{resource, "https://gw.example/t/a/mcp/other"} {
		if _, err := v.VerifyResource(ctx, teamA, teamTok, other); identity.AsError(err).Reason != identity.ReasonWrongAudience {
			t.Errorf("team token at %s: %v, want %s", other, err, identity.ReasonWrongAudience)
		}
	}
	if _, err := v.VerifyResource(ctx, teamA, tok, "https://gw.example/t/a/mcp/other"); identity.AsError(err).Reason != identity.ReasonWrongAudience {
		t.Errorf("token for one server at another: %v", err)
	}
}

// JOSE header names are case-sensitive: "ALG" is not alg, "KID" not kid.
func TestVerifyHeaderNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	idp, teamA := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	good := idp.Token(t, "api://team-a")
	parts := strings.Split(good, ".")
	for _, hdr := range []string{
		`{"ALG":"RS256","kid":"` + idp.KeyID("RS256") + `"}`,
		`{"Alg":"RS256","typ":"JWT"}`,
	} {
		tok := base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + parts[1] + "." + parts[2]
		_, err := v.Verify(context.Background(), teamA, tok)
		wantReason(t, err, identity.ReasonAlgNotAllowed, tok)
	}
	tok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":7}`)) + "." + parts[1] + "." + parts[2]
	_, err := v.Verify(context.Background(), teamA, tok)
	wantReason(t, err, identity.ReasonMalformed, tok)
}
