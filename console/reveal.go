package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// A form that makes a secret (an API key, an invite link) answers its POST
// with 303 See Other, so a reload never makes a second one. The secret rides
// to the page the browser is sent to in a short-lived cookie, sealed with
// AES-GCM under a key derived from Config.CookieKey (so every replica can
// open it) and bound to the session that made it. That page shows it and
// clears the cookie: a reload, another tab or another session sees only
// that it was already shown. The secret is never in a URL or a log; the URL
// carries the id of what was made, which is not secret.

// revealTTL is how long the browser has to follow the redirect.
const revealTTL = 2 * time.Minute

// Kinds of secret a reveal carries.
const (
	revealKey    = "key"
	revealInvite = "invite"
)

type revealCookie struct {
	Kind    string `json:"k"`
	Ref     string `json:"r"` // id of the key or invite
	Secret  string `json:"s"`
	Session string `json:"u"` // sessionTag of the session that made it
	Expires int64  `json:"e"` // unix seconds
}

func (c *Console) revealCookieName() string {
	if c.secure {
		return "__Host-attach_reveal"
	}
	return "attach_reveal"
}

// revealAEAD is the cipher of reveal cookies. Its key is derived, so the
// SSO cookie's signing key is never used as is for another purpose.
func (c *Console) revealAEAD() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, c.cfg.CookieKey)
	m.Write([]byte("attach console reveal cookie v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sessionTag names a session without its token.
func sessionTag(token string) string {
	h := sha256.Sum256([]byte("attach console reveal session:" + token))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// holdSecret puts secret in the reveal cookie for the page the POST
// redirects to. A second one replaces the first.
func (c *Console) holdSecret(fc *fiber.Ctx, kind, ref, secret string) error {
	aead, err := c.revealAEAD()
	if err != nil {
		return fmt.Errorf("reveal cipher: %w", err)
	}
	plain, err := json.Marshal(revealCookie{
		Kind: kind, Ref: ref, Secret: secret,
		Session: sessionTag(me(fc).token), Expires: time.Now().Add(revealTTL).Unix(),
	})
	if err != nil {
		return fmt.Errorf("encode reveal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("reveal nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(c.revealCookieName()))
	fc.Cookie(&fiber.Cookie{
		Name:     c.revealCookieName(),
		Value:    base64.RawURLEncoding.EncodeToString(sealed),
		Path:     "/",
		MaxAge:   int(revealTTL / time.Second),
		HTTPOnly: true,
		Secure:   c.secure,
		SameSite: fiber.CookieSameSiteStrictMode,
	})
	return nil
}

// takeSecret returns the secret held for kind and ref, if this session made
// it and it is still fresh, and clears the cookie: it is shown once. A
// cookie held for something else is left alone.
func (c *Console) takeSecret(fc *fiber.Ctx, kind, ref string) (string, bool) {
	raw := fc.Cookies(c.revealCookieName())
	if raw == "" || me(fc) == nil {
		return "", false
	}
	r, ok := c.openReveal(raw)
	if !ok || time.Now().Unix() > r.Expires {
		c.clearCookie(fc, c.revealCookieName(), "/")
		return "", false
	}
	if r.Kind != kind || r.Ref != ref ||
		!hmac.Equal([]byte(r.Session), []byte(sessionTag(me(fc).token))) {
		return "", false
	}
	c.clearCookie(fc, c.revealCookieName(), "/")
	return r.Secret, true
}

func (c *Console) openReveal(raw string) (revealCookie, bool) {
	var r revealCookie
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return r, false
	}
	aead, err := c.revealAEAD()
	if err != nil || len(sealed) < aead.NonceSize() {
		return r, false
	}
	nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, box, []byte(c.revealCookieName()))
	if err != nil {
		return r, false
	}
	if json.Unmarshal(plain, &r) != nil {
		return r, false
	}
	return r, true
}
