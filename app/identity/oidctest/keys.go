package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one private key of the provider with the kid it publishes.
type signingKey struct {
	kid string
	alg string // set on the JWK only where one key serves one algorithm
	key crypto.Signer
}

// keyGeneration is the set of keys made at one rotation: one RSA key (RS* and
// PS*), one EC P-256 key (ES256) and one Ed25519 key (EdDSA).
type keyGeneration struct {
	rsa, ec, ed signingKey
}

func newKeyGeneration() (keyGeneration, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyGeneration{}, fmt.Errorf("generate RSA key: %w", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyGeneration{}, fmt.Errorf("generate EC key: %w", err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyGeneration{}, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return keyGeneration{
		rsa: signingKey{kid: newKid("rsa"), key: rsaKey},
		ec:  signingKey{kid: newKid("ec"), alg: "ES256", key: ecKey},
		ed:  signingKey{kid: newKid("ed"), alg: "EdDSA", key: edKey},
	}, nil
}

func newKid(kind string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return kind + "-" + hex.EncodeToString(b)
}

func (g keyGeneration) all() []signingKey { return []signingKey{g.rsa, g.ec, g.ed} }

// forAlg picks the key of this generation that signs alg.
func (g keyGeneration) forAlg(alg string) (signingKey, bool) {
	switch {
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		return g.rsa, true
	case alg == "ES256":
		return g.ec, true
	case alg == "EdDSA":
		return g.ed, true
	}
	return signingKey{}, false
}

// privateJWKS is the key file the provider reads: the current generation first
// (oidc-provider signs with the first key that fits an algorithm), then the
// older generations that are still published.
func privateJWKS(gens []keyGeneration) ([]byte, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	for _, g := range gens {
		for _, k := range g.all() {
			jwk := jose.JSONWebKey{Key: k.key, KeyID: k.kid, Algorithm: k.alg, Use: "sig"}
			b, err := jwk.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("marshal key %s: %w", k.kid, err)
			}
			set.Keys = append(set.Keys, b)
		}
	}
	return json.Marshal(set)
}
