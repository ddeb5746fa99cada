package console

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

func (c *Console) signInPage(fc *fiber.Ctx) error {
	next := fc.Query("next")
	if !safeNext(next) {
		next = ""
	}
	if me(fc) != nil {
		return seeOther(fc, orHome(next))
	}
	n, err := c.store.CountUsers(fc.UserContext())
	if err != nil {
		return c.internal(fc, "count users", err)
	}
	v := signInView{CSRF: c.preToken(fc), Next: next, SSO: c.sso != nil, NoUsers: n == 0}
	return render(fc, fiber.StatusOK, signInPage(c.chrome(fc, "Sign in"), v))
}

// signIn checks an email and password. Failures are counted per client
// address and account together (tight), per address (looser) and per
// account (slow, a short delay): someone guessing from one address is
// stopped while the owner still signs in from another. Past a limit the
// form answers 429 with the time to wait, whether the password is right or
// not. Failures and the locks they set off go to the audit log.
func (c *Console) signIn(fc *fiber.Ctx) error {
	ctx := fc.UserContext()
	email := form(fc, "email")
	password := fc.FormValue("password")
	next := fc.FormValue("next")
	if !safeNext(next) {
		next = ""
	}
	v := signInView{CSRF: c.preToken(fc), Next: next, Email: email, SSO: c.sso != nil}
	again := func(status int, msg string) error {
		v.Error = msg
		return render(fc, status, signInPage(c.chrome(fc, "Sign in"), v))
	}
	if email == "" || password == "" {
		return again(fiber.StatusUnprocessableEntity, "Enter your email and password.")
	}
	keys := tenants.SignInKeys(fc.IP(), email)
	wait, err := c.store.SignInAllowed(ctx, keys...)
	if err != nil {
		return c.internal(fc, "check sign-in throttle", err)
	}
	if wait > 0 {
		// Not audited: the lock was, when it began, and a row per refused
		// try would let a guesser fill the log.
		fc.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+999_999_999)/1_000_000_000)))
		return again(fiber.StatusTooManyRequests, "Too many failed sign-ins. Try again in "+humanWait(wait)+".")
	}
	u, err := c.store.AuthenticatePassword(ctx, email, password)
	if attach.ErrorCode(err) == attach.CodeUnauthorized {
		locks, err := c.store.SignInFailure(ctx, keys...)
		if err != nil {
			return c.internal(fc, "count failed sign-in", err)
		}
		c.recordRefusal(ctx, fc.IP(), email, tenants.AuditSignInFailed, nil)
		for _, l := range locks {
			c.recordRefusal(ctx, fc.IP(), email, tenants.AuditSignInThrottle,
				map[string]any{"scope": l.Scope, "seconds": int(l.For.Seconds())})
		}
		return again(fiber.StatusUnauthorized, "Wrong email or password.")
	}
	if e, ok := errors.AsType[*attach.Error](err); ok && e.Reason == tenants.ReasonAccountLocked {
		c.recordRefusal(ctx, fc.IP(), email, tenants.AuditSignInFailed, map[string]any{"why": "account locked"})
		return again(fiber.StatusForbidden, lockedMessage)
	}
	if err != nil {
		return c.internal(fc, "check password", err)
	}
	if err := c.store.SignInSucceeded(ctx, tenants.PairKey(fc.IP(), email)); err != nil {
		c.log.Warn("console: reset sign-in throttle", "err", err)
	}
	if err := c.startSession(fc, u); err != nil {
		return c.internal(fc, "start session", err)
	}
	return seeOther(fc, orHome(next))
}

// signOut ends the session here and, for a single sign-on session whose
// provider offers RP-initiated logout, sends the browser on to end the
// provider's session too (sso_logout.go).
func (c *Console) signOut(fc *fiber.Ctx) error {
	s := me(fc)
	ctx := fc.UserContext()
	idToken, err := c.store.SessionIDToken(ctx, s.token)
	if err != nil {
		c.log.Warn("console: read session id token", "err", err)
	}
	if err := c.store.DeleteSession(ctx, s.token); err != nil && attach.ErrorCode(err) != attach.CodeNotFound {
		return c.internal(fc, "end session", err)
	}
	c.audit(ctx, s.user, fc.IP(), tenants.AuditSignOut)
	c.clearCookie(fc, c.cookie.session, "/")
	if to := c.providerLogoutURL(fc, idToken); to != "" {
		fc.Set("Refresh", "0;url="+to)
		return render(fc, fiber.StatusOK, providerSignOutPage(chrome{Title: "Signing out"}, to))
	}
	return seeOther(fc, Base+"/signin?done=signed-out")
}

func orHome(next string) string {
	if next == "" {
		return Base + "/"
	}
	return next
}

// recordRefusal notes a refused sign-in, or a lock it set off, in the
// install-wide audit log and in the account's teams' logs; the password is
// nowhere in it.
func (c *Console) recordRefusal(ctx context.Context, ip, email, action string, detail map[string]any) {
	err := c.store.RecordSignInEvent(ctx, tenants.SignInEvent{Action: action, Email: email, IP: ip, Detail: detail})
	if err != nil {
		c.log.Warn("console: record audit", "action", action, "err", err)
	}
}
