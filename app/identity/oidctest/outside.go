package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// OutsideIssuer is the iss of the second issuer whose JWTs the provider's
// token-exchange grant accepts as subject tokens. Nothing serves it: the
// provider knows its public key from a file, and SignOutside signs for it.
const OutsideIssuer = "https://outside.idp.test"

// TokenExchangeGrant is the RFC 8693 grant type the provider supports.
const TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"

// outsideKey is the outside issuer's signing key, made once per provider.
type outsideKey struct {
	kid string
	key *ecdsa.PrivateKey
}

func newOutsideKey() (outsideKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return outsideKey{}, fmt.Errorf("generate outside issuer key: %w", err)
	}
	return outsideKey{kid: newKid("outside"), key: k}, nil
}

// writeOutsideJWKS writes the outside issuer's public key set for
// provider.mjs and returns the file's path.
func (p *Provider) writeOutsideJWKS() (string, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: p.outside.key.Public(), KeyID: p.outside.kid, Algorithm: "ES256", Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		return "", fmt.Errorf("outside key set: %w", err)
	}
	path := filepath.Join(p.dir, "outside-jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("write outside key set: %w", err)
	}
	return path, nil
}

// ExchangeClient is the client id and secret of the client allowed the
// token-exchange grant (client_secret_basic).
func (p *Provider) ExchangeClient() (id, secret string) { return "gateway-exchange", p.secret }

// SignOutside makes an ES256 JWT of claims signed by the outside issuer.
// Claims should name iss OutsideIssuer, sub and exp for the provider to
// accept it in exchange.
func (p *Provider) SignOutside(t testing.TB, claims any) string {
	t.Helper()
	return signES256(t, p.outside.key, p.outside.kid, claims)
}

// SignForged is SignOutside with a key the provider does not know, under
// the outside issuer's kid: a subject token it must refuse.
func (p *Provider) SignForged(t testing.TB, claims any) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signES256(t, k, p.outside.kid, claims)
}

func signES256(t testing.TB, key *ecdsa.PrivateKey, kid string, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("oidctest: signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("oidctest: claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("oidctest: sign: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("oidctest: serialize: %v", err)
	}
	return out
}

// OpaqueToken returns an opaque access token of the client_credentials
// grant (no resource indicator), whose subject is the client id
// gateway-rs256.
func (p *Provider) OpaqueToken(t testing.TB) string {
	t.Helper()
	resp, err := p.client.PostForm(p.issuer+"/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"gateway-rs256"}, "client_secret": {p.secret},
	})
	if err != nil {
		t.Fatalf("oidctest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		t.Fatalf("oidctest: opaque token: status %d: %s", resp.StatusCode, body)
	}
	return out.AccessToken
}
