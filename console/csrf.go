package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// Every POST carries a CSRF token, in the form field "csrf" or the
// X-CSRF-Token header. Signed in, it is the session's own token; before
// sign-in (the sign-in, setup and invite sign-up forms) it is a random value
// also held in an HttpOnly cookie, which another site can neither read nor
// set, so a forged form cannot sign a victim in to the attacker's account.

const csrfField = "csrf"

// submittedCSRF is the token the request carries.
func submittedCSRF(fc *fiber.Ctx) string {
	if h := fc.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return fc.FormValue(csrfField)
}

// tokensEqual compares in constant time; an empty token never matches.
func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// checkCSRF guards a signed-in route's POSTs.
func (c *Console) checkCSRF(fc *fiber.Ctx) error {
	if fc.Method() != fiber.MethodPost {
		return fc.Next()
	}
	s := me(fc)
	if s == nil || !tokensEqual(submittedCSRF(fc), s.session.CSRF) {
		return c.csrfRefused(fc)
	}
	return fc.Next()
}

// checkPreCSRF guards the POSTs of forms shown before sign-in.
func (c *Console) checkPreCSRF(fc *fiber.Ctx) error {
	if !tokensEqual(submittedCSRF(fc), fc.Cookies(c.cookie.pre)) {
		return c.csrfRefused(fc)
	}
	return fc.Next()
}

func (c *Console) csrfRefused(fc *fiber.Ctx) error {
	return c.fail(fc, &attach.Error{Code: attach.CodeForbidden, Reason: "csrf",
		Message: "this form has expired or did not come from the console: reload the page and try again"})
}

// preToken is the CSRF token for a signed-out form, set in its cookie the
// first time.
func (c *Console) preToken(fc *fiber.Ctx) string {
	if t := fc.Cookies(c.cookie.pre); len(t) == 43 && !strings.ContainsAny(t, "=;, ") {
		return strings.Clone(t)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	t := base64.RawURLEncoding.EncodeToString(b)
	fc.Cookie(&fiber.Cookie{
		Name:     c.cookie.pre,
		Value:    t,
		Path:     "/",
		HTTPOnly: true,
		Secure:   c.secure,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return t
}

// formCSRF is the token the forms of this response must carry.
func (c *Console) formCSRF(fc *fiber.Ctx) string {
	if s := me(fc); s != nil {
		return s.session.CSRF
	}
	return c.preToken(fc)
}
