package identity

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// periodKeys derives one Ed25519 signing key per key period from the
// install's secret, for the tokens the gateway signs itself (delegation,
// exchanged): every replica signs and verifies alike, rotation needs no
// coordination, and nothing is stored.
type periodKeys struct {
	secret    []byte
	info      string // the HKDF info, followed by the period
	kidPrefix string // the kid is this followed by the period
	what      string // names the key in errors
}

// key is the signing key of period p and its kid.
func (k periodKeys) key(p int64) (ed25519.PrivateKey, string, error) {
	seed, err := hkdf.Key(sha256.New, k.secret, nil, k.info+strconv.FormatInt(p, 10), ed25519.SeedSize)
	if err != nil {
		return nil, "", fmt.Errorf("derive %s: %w", k.what, err)
	}
	return ed25519.NewKeyFromSeed(seed), k.kidPrefix + strconv.FormatInt(p, 10), nil
}

// around is the public keys of the periods before, at and after now: what
// a token signed by any live replica verifies against.
func (k periodKeys) around(now time.Time) ([]jose.JSONWebKey, error) {
	p := period(now)
	var keys []jose.JSONWebKey
	for _, q := range []int64{p - 1, p, p + 1} {
		key, kid, err := k.key(q)
		if err != nil {
			return nil, err
		}
		keys = append(keys, jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	return keys, nil
}
