package attach

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Gateway API keys look like atk_<prefix>_<secret>. The prefix is public and
// finds the key; the secret is 32 random bytes. Because the whole token carries
// 256 bits of randomness, a single SHA-256 is enough to store it: there is
// nothing for a slow password hash to protect against.
const (
	apiKeyScheme    = "atk_"
	apiKeyPrefixLen = 12
)

// Reasons a matching API key is still refused, as the Reason of the
// CodeInvalidToken error Usable returns.
const (
	ReasonKeyRevoked = "key_revoked"
	ReasonKeyExpired = "key_expired"
)

// NewAPIKeyToken makes a fresh token and returns it with its prefix and hash.
func NewAPIKeyToken() (token, prefix string, hash []byte, err error) {
	p := make([]byte, apiKeyPrefixLen/2)
	s := make([]byte, 32)
	if _, err := rand.Read(p); err != nil {
		return "", "", nil, fmt.Errorf("read random prefix: %w", err)
	}
	if _, err := rand.Read(s); err != nil {
		return "", "", nil, fmt.Errorf("read random secret: %w", err)
	}
	prefix = hex.EncodeToString(p)
	token = apiKeyScheme + prefix + "_" + base64.RawURLEncoding.EncodeToString(s)
	return token, prefix, HashAPIKeyToken(token), nil
}

// HashAPIKeyToken is the stored form of a token.
func HashAPIKeyToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// LooksLikeAPIKey tells a gateway key from a JWT without parsing either.
func LooksLikeAPIKey(token string) bool {
	return strings.HasPrefix(token, apiKeyScheme)
}

// ParseAPIKey returns the prefix of a well-formed token.
func ParseAPIKey(token string) (prefix string, ok bool) {
	rest, ok := strings.CutPrefix(token, apiKeyScheme)
	if !ok || len(rest) < apiKeyPrefixLen+2 || rest[apiKeyPrefixLen] != '_' {
		return "", false
	}
	prefix = rest[:apiKeyPrefixLen]
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return prefix, true
}

// Matches reports, in constant time, whether token is this key.
func (k APIKey) Matches(token string) bool {
	return subtle.ConstantTimeCompare(HashAPIKeyToken(token), k.Hash) == 1
}

// Usable says why a matching key must still be refused, or nil. The
// message names the key, which the caller holds anyway.
func (k APIKey) Usable(now time.Time) error {
	if k.RevokedAt != nil && !k.RevokedAt.After(now) {
		return &Error{Code: CodeInvalidToken, Reason: ReasonKeyRevoked, Message: fmt.Sprintf("API key %q was revoked", k.Name)}
	}
	if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		return &Error{Code: CodeInvalidToken, Reason: ReasonKeyExpired,
			Message: fmt.Sprintf("API key %q expired at %s", k.Name, k.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return nil
}
