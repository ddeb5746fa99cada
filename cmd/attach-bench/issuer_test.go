package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestIssuerTokenVerifiesWithItsJWKS follows discovery the way a resource
// server does and verifies the minted token with the published key.
func TestIssuerTokenVerifiesWithItsJWKS(t *testing.T) {
	t.Parallel()
	is, err := startIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close(t.Context())

	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, is.url+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != is.url {
		t.Fatalf("discovery issuer %q, want %q", disc.Issuer, is.url)
	}
	var set jose.JSONWebKeySet
	getJSON(t, disc.JWKSURI, &set)
	if len(set.Keys) != 1 || set.Keys[0].KeyID != benchKeyID || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS: want one public key with kid %q, got %+v", benchKeyID, set.Keys)
	}

	now := time.Now()
	raw, err := is.mint(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if kid := tok.Headers[0].KeyID; kid != benchKeyID {
		t.Errorf("token kid %q, want %q", kid, benchKeyID)
	}
	var claims jwt.Claims
	if err := tok.Claims(set.Keys[0].Key, &claims); err != nil {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: is.url, AnyAudience: jwt.Audience{benchAudience}, Time: now.Add(59 * time.Minute)}, 0); err != nil {
		t.Errorf("claims: %v", err)
	}
	if claims.Subject != benchSubject || claims.IssuedAt == nil {
		t.Errorf("claims %+v: want sub %q and iat", claims, benchSubject)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: now.Add(61 * time.Minute)}, 0); err == nil {
		t.Error("token still valid after an hour")
	}
}
