package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// deriveKey makes a purpose-bound key from the install's secret, so the key
// that names sessions is never the one that seals engine secrets.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// sessionNamer makes session ids. Keyed HMACs are pooled: setting one up
// costs as much as using it, and every proxied request needs one.
type sessionNamer struct {
	macs sync.Pool
}

func newSessionNamer(key []byte) *sessionNamer {
	n := &sessionNamer{}
	n.macs.New = func() any { return hmac.New(sha256.New, key) }
	return n
}

// id is stable for the same team, user and client (user agent) and cannot be
// guessed or forged without the install's secret.
func (n *sessionNamer) id(teamID, user, userAgent string) string {
	m := n.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(teamID))
	m.Write([]byte{0})
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(userAgent))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	n.macs.Put(m)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
