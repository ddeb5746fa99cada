package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// deriveKey makes a purpose-bound key from the install's secret, so the key
// that names sessions is never the one that seals engine secrets.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// sessionID is stable for the same team, user and client (user agent) and
// cannot be guessed or forged without the install's secret.
func sessionID(key []byte, teamID, user, userAgent string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(teamID))
	m.Write([]byte{0})
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(userAgent))
	sum := m.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
