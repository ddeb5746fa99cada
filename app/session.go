package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// HeaderSessionKey lets a client start a new session of its own: the same
// key (any label it picks: a chat's id, a conversation's) keeps the same
// session, a new key makes a new one. The session id is still derived by
// the gateway from the team, the user and the client, so a key cannot name
// another user's session. Without the header the id is what it always was.
const HeaderSessionKey = "Attach-Session-Key"

// maxSessionKey bounds the header: a label, not a payload.
const maxSessionKey = 128

// sessionKey reads HeaderSessionKey: "" when absent, an invalid_field
// error when it is not 1 to 128 visible ASCII characters.
func sessionKey(c *fiber.Ctx) (string, error) {
	k := c.Get(HeaderSessionKey)
	if k == "" {
		return "", nil
	}
	if !validSessionKey(k) {
		return "", attach.Invalid(HeaderSessionKey, "must be 1 to 128 visible ASCII characters")
	}
	return k, nil
}

func validSessionKey(k string) bool {
	if k == "" || len(k) > maxSessionKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// sessionOf is the session of a call by subject to the team: from the
// user agent and the client's session key.
func (a *App) sessionOf(c *fiber.Ctx, teamID, subject string) (string, error) {
	key, err := sessionKey(c)
	if err != nil {
		return "", err
	}
	return a.sessions.id(teamID, subject, c.Get(fiber.HeaderUserAgent), key), nil
}

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

// id is stable for the same team, user, client (user agent) and session
// key, and cannot be guessed or forged without the install's secret. An
// empty key gives the id the gateway gave before keys existed.
func (n *sessionNamer) id(teamID, user, userAgent, key string) string {
	m := n.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(teamID))
	m.Write([]byte{0})
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(userAgent))
	if key != "" {
		// A user agent holds no NUL, so this cannot meet another agent's id.
		m.Write([]byte{0})
		m.Write([]byte(key))
	}
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	n.macs.Put(m)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
