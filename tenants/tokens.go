package tenants

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Console tokens (sessions, invites, setup links, CSRF) are 32 random bytes,
// base64url without padding. With 256 bits of randomness a plain SHA-256 is
// all the protection the stored copy needs.
const tokenBytes = 32

// newToken returns a fresh token and the hash to store for it.
func newToken() (token string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// tokenHashOf returns the stored form of token, or false when token cannot
// be one the store made: such a token is unknown without asking Postgres.
func tokenHashOf(token string) ([]byte, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return nil, false
	}
	return hashToken(token), true
}
