package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	jose "github.com/go-jose/go-jose/v4"
)

// Multicodec codes of the public key types a DID may carry.
const (
	codecEd25519   = 0xed
	codecSecp256k1 = 0xe7
	codecP256      = 0x1200
)

// maxMultibaseLen bounds a multibase key before it is decoded: the longest
// key accepted (a compressed P-256 point with its prefix) is under 50
// characters, and base58 decoding is quadratic in the length.
const maxMultibaseLen = 128

// didPublicKey is one public key named by a DID: exactly one field is set.
type didPublicKey struct {
	ed   ed25519.PublicKey
	p256 *ecdsa.PublicKey
	k1   *secp256k1.PublicKey
}

// fits says whether the key can check a signature of alg.
func (k didPublicKey) fits(alg string) bool {
	switch {
	case k.ed != nil:
		return alg == "EdDSA"
	case k.p256 != nil:
		return alg == "ES256"
	case k.k1 != nil:
		return alg == "ES256K" || alg == "ES256K-R"
	}
	return false
}

// verify checks the JWS token (compact form, already split) with the key.
func (k didPublicKey) verify(token string, parts []string, alg string) bool {
	switch {
	case k.ed != nil || k.p256 != nil:
		// go-jose checks EdDSA and ES256 (including the r||s length).
		jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if err != nil {
			return false
		}
		var key any = k.ed
		if k.p256 != nil {
			key = k.p256
		}
		_, err = jws.Verify(key)
		return err == nil
	case k.k1 != nil:
		sig, err := decodeSegment(parts[2])
		if err != nil {
			return false
		}
		// ES256K-R carries a recovery byte after r||s; with the key at hand
		// it is not needed.
		if alg == "ES256K-R" && len(sig) == 65 {
			sig = sig[:64]
		}
		es, ok := secp256k1Signature(sig)
		if !ok {
			return false
		}
		hash := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		return es.Verify(hash[:], k.k1)
	}
	return false
}

// secp256k1Signature reads a JOSE r||s signature. S must be in the lower
// half of the group order, as every secp256k1 signer in use produces it
// (did-jwt through @noble/curves, Ethereum wallets): the other half would
// be a second valid encoding of the same signature.
func secp256k1Signature(sig []byte) (*secpecdsa.Signature, bool) {
	if len(sig) != 64 {
		return nil, false
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() || s.IsOverHalfOrder() {
		return nil, false
	}
	return secpecdsa.NewSignature(&r, &s), true
}

// parseDIDKey reads did:key:<multibase> and returns its key and multibase
// value, which is also the fragment of the key's id in the DID document.
func parseDIDKey(did string) (didPublicKey, string, error) {
	mb, ok := strings.CutPrefix(did, "did:key:")
	if !ok {
		return didPublicKey{}, "", errors.New("not a did:key DID")
	}
	key, err := parseMultikey(mb)
	if err != nil {
		return didPublicKey{}, "", err
	}
	return key, mb, nil
}

// parseMultikey reads a multibase (base58btc, "z" prefix) multicodec public
// key: Ed25519 (32 bytes), P-256 or secp256k1 (33-byte compressed points).
func parseMultikey(mb string) (didPublicKey, error) {
	if len(mb) > maxMultibaseLen {
		return didPublicKey{}, errors.New("multibase key is too long")
	}
	enc, ok := strings.CutPrefix(mb, "z")
	if !ok {
		return didPublicKey{}, errors.New("multibase key is not base58btc (z prefix)")
	}
	raw, err := decodeBase58(enc)
	if err != nil {
		return didPublicKey{}, err
	}
	codec, n := binary.Uvarint(raw)
	if n <= 0 {
		return didPublicKey{}, errors.New("multibase key has no multicodec prefix")
	}
	// A varint must be minimally encoded, or one key would have many DIDs.
	if n != len(binary.AppendUvarint(nil, codec)) {
		return didPublicKey{}, errors.New("multicodec prefix is not minimally encoded")
	}
	return rawPublicKey(codec, raw[n:])
}

// rawPublicKey makes a key from its multicodec code and bytes.
func rawPublicKey(codec uint64, b []byte) (didPublicKey, error) {
	switch codec {
	case codecEd25519:
		if len(b) != ed25519.PublicKeySize {
			return didPublicKey{}, fmt.Errorf("ed25519 key is %d bytes, want %d", len(b), ed25519.PublicKeySize)
		}
		return didPublicKey{ed: ed25519.PublicKey(b)}, nil
	case codecP256:
		if len(b) != 33 {
			return didPublicKey{}, fmt.Errorf("P-256 key is %d bytes, want a 33-byte compressed point", len(b))
		}
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
		if x == nil {
			return didPublicKey{}, errors.New("P-256 key is not a point on the curve")
		}
		return didPublicKey{p256: &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}}, nil
	case codecSecp256k1:
		if len(b) != 33 {
			return didPublicKey{}, fmt.Errorf("secp256k1 key is %d bytes, want a 33-byte compressed point", len(b))
		}
		k, err := secp256k1.ParsePubKey(b)
		if err != nil {
			return didPublicKey{}, fmt.Errorf("secp256k1 key: %w", err)
		}
		return didPublicKey{k1: k}, nil
	}
	return didPublicKey{}, fmt.Errorf("unsupported multicodec key type 0x%x", codec)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(base58Alphabet) {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// decodeBase58 decodes Bitcoin-alphabet base58; each leading '1' is a zero
// byte. Callers bound the length.
func decodeBase58(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty base58 value")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// Big-endian base-256 digits of the value, built one base58 digit at a
	// time; len(s)*733/1000+1 bytes always suffice (log 58 / log 256).
	out := make([]byte, 0, len(s)*733/1000+1)
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil, fmt.Errorf("invalid base58 character at %d", i)
		}
		carry := int(d)
		for j := len(out) - 1; j >= 0; j-- {
			carry += int(out[j]) * 58
			out[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			out = append([]byte{byte(carry)}, out...)
			carry >>= 8
		}
	}
	return append(make([]byte, zeros, zeros+len(out)), out...), nil
}
