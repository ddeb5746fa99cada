package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

// parsePKH reads did:pkh:eip155:<chain id>:<0x address> (CAIP-10) and
// returns the 20-byte account address. Only Ethereum-style accounts are
// supported: their key is recovered from an ES256K-R signature.
func parsePKH(did string) ([]byte, error) {
	rest, ok := strings.CutPrefix(did, "did:pkh:eip155:")
	if !ok {
		return nil, errors.New("only did:pkh:eip155 accounts are supported")
	}
	chain, account, ok := strings.Cut(rest, ":")
	if !ok || chain == "" || len(chain) > 32 {
		return nil, errors.New("did:pkh has no valid chain id")
	}
	for _, c := range chain {
		if c < '0' || c > '9' {
			return nil, errors.New("an eip155 chain id is a decimal number")
		}
	}
	hexAddr, ok := strings.CutPrefix(account, "0x")
	if !ok || len(hexAddr) != 40 {
		return nil, errors.New("did:pkh account is not a 0x-prefixed 20-byte address")
	}
	addr, err := hex.DecodeString(hexAddr)
	if err != nil {
		return nil, errors.New("did:pkh account is not hexadecimal")
	}
	return addr, nil
}

// recoverAddress returns the Ethereum address of the key that made sig, an
// ES256K-R signature (r||s||recovery id) over the SHA-256 of signingInput,
// as did-jwt makes them. The recovery id may be 0-3 or, as wallets write
// it, 27-30.
func recoverAddress(signingInput string, sig []byte) ([]byte, error) {
	if len(sig) != 65 {
		return nil, errors.New("an ES256K-R signature is 65 bytes")
	}
	rec := sig[64]
	if rec >= 27 {
		rec -= 27
	}
	if rec > 3 {
		return nil, errors.New("invalid recovery id")
	}
	// Reject high S before recovery, as for ES256K, so a token has one
	// signature only.
	if _, ok := secp256k1Signature(sig[:64]); !ok {
		return nil, errors.New("invalid signature values")
	}
	// decred's compact form puts the recovery code first: 27 + id, plus 4
	// when the key is to be compressed (which does not change the address).
	compact := make([]byte, 65)
	compact[0] = 27 + 4 + rec
	copy(compact[1:], sig[:64])
	hash := sha256.Sum256([]byte(signingInput))
	pub, _, err := secpecdsa.RecoverCompact(compact, hash[:])
	if err != nil {
		return nil, err
	}
	return ethereumAddress(pub.SerializeUncompressed()), nil
}

// ethereumAddress is the last 20 bytes of the Keccak-256 of the 64-byte
// X||Y public key (the uncompressed form without its 0x04 prefix).
func ethereumAddress(uncompressed []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(uncompressed[1:])
	return h.Sum(nil)[12:]
}
