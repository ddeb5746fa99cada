package console

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// cookieNames are the console's cookies. Over https the session cookie
// takes the __Host- prefix, so the browser only accepts it Secure, for
// Path=/ and from this very host: a sibling subdomain cannot plant one.
type cookieNames struct {
	session string // the session token
	pre     string // CSRF token of the forms shown before sign-in
	sso     string // signed state of an SSO sign-in under way
}

func newCookieNames(secure bool) cookieNames {
	if secure {
		return cookieNames{session: "__Host-attach_session", pre: "__Host-attach_pre", sso: "attach_sso"}
	}
	return cookieNames{session: "attach_session", pre: "attach_pre", sso: "attach_sso"}
}

const localSignedIn = "console.signed_in"

// signedIn is the session of the request, when there is one.
type signedIn struct {
	token   string
	session tenants.Session
	user    tenants.User
}

// loadSession finds the session named by the cookie, if any. An unknown or
// expired one is forgotten: the cookie is cleared and the request goes on
// signed out.
func (c *Console) loadSession(fc *fiber.Ctx) error {
	token := fc.Cookies(c.cookie.session)
	if token == "" {
		return fc.Next()
	}
	s, u, err := c.store.GetSession(fc.UserContext(), token)
	switch {
	case attach.ErrorCode(err) == attach.CodeNotFound:
		c.clearCookie(fc, c.cookie.session, "/")
	case err != nil:
		return c.internal(fc, "load session", err)
	default:
		fc.Locals(localSignedIn, &signedIn{token: strings.Clone(token), session: s, user: u})
	}
	return fc.Next()
}

// me is the signed-in user of the request, or nil.
func me(fc *fiber.Ctx) *signedIn {
	s, _ := fc.Locals(localSignedIn).(*signedIn)
	return s
}

// requireUser sends a signed-out browser to the sign-in page, coming back
// here afterwards; a script gets 401.
func (c *Console) requireUser(fc *fiber.Ctx) error {
	if me(fc) != nil {
		return fc.Next()
	}
	if wantsJSON(fc) || fc.Method() != fiber.MethodGet {
		return c.fail(fc, &attach.Error{Code: attach.CodeUnauthorized, Reason: "signed_out", Message: "sign in to the console first"})
	}
	return fc.Redirect(signInURL(fc.OriginalURL()), fiber.StatusSeeOther)
}

func signInURL(next string) string {
	if !safeNext(next) || next == Base+"/" || next == Base {
		return Base + "/signin"
	}
	return Base + "/signin?" + url.Values{"next": {next}}.Encode()
}

// safeNext accepts only paths inside the console as a place to go after
// sign-in, so a crafted link cannot send the user to another site.
func safeNext(next string) bool {
	if !strings.HasPrefix(next, Base+"/") && next != Base {
		return false
	}
	// "//host" and "/\host" are read by browsers as another host.
	return !strings.Contains(next, "//") && !strings.Contains(next, `\`) && !strings.ContainsAny(next, "\r\n")
}

// startSession signs user in: any session the browser had is ended (a new
// token at every sign-in, so a planted one is worth nothing) and a fresh one
// is set in the cookie.
func (c *Console) startSession(fc *fiber.Ctx, user tenants.User) error {
	_, err := c.newSession(fc, user, nil)
	return err
}

// newSession is startSession, returning the new session's token; groups
// are the provider's groups of a single sign-on.
func (c *Console) newSession(fc *fiber.Ctx, user tenants.User, groups []string) (string, error) {
	ctx := fc.UserContext()
	if old := fc.Cookies(c.cookie.session); old != "" {
		if err := c.store.DeleteSession(ctx, old); err != nil && attach.ErrorCode(err) != attach.CodeNotFound {
			return "", err
		}
	}
	token, _, err := c.store.CreateSession(ctx, user.ID, tenants.SessionInput{
		UserAgent: attach.CutUTF8(fc.Get(fiber.HeaderUserAgent), 500),
		IP:        fc.IP(),
		Groups:    groups,
		TTL:       c.cfg.SessionTTL,
		MaxAge:    c.cfg.SessionMaxAge,
	})
	if err != nil {
		return "", err
	}
	// The session slides forward with use up to its maximum age, so the
	// cookie lives that long; the store decides when the session ends.
	fc.Cookie(&fiber.Cookie{
		Name:     c.cookie.session,
		Value:    token,
		Path:     "/",
		Expires:  time.Now().Add(c.cfg.SessionMaxAge),
		HTTPOnly: true,
		Secure:   c.secure,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	// The session is live from this response on; the pre-session CSRF
	// token has done its job.
	c.clearCookie(fc, c.cookie.pre, "/")
	c.audit(ctx, user, fc.IP(), tenants.AuditSignIn)
	return token, nil
}

// clearCookie tells the browser to drop a cookie.
func (c *Console) clearCookie(fc *fiber.Ctx, name, path string) {
	fc.Cookie(&fiber.Cookie{
		Name:     name,
		Value:    "",
		Path:     path,
		Expires:  time.Unix(1, 0),
		HTTPOnly: true,
		Secure:   c.secure,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// actor is the request's context carrying who acts, so the store writes the
// audit row of each change with it.
func (c *Console) actor(fc *fiber.Ctx) context.Context {
	if s := me(fc); s != nil {
		return actorCtx(fc, s.user)
	}
	return fc.UserContext()
}

func actorCtx(fc *fiber.Ctx, u tenants.User) context.Context {
	return tenants.WithActor(fc.UserContext(), tenants.Actor{ID: u.ID, Name: u.Email, IP: fc.IP()})
}

// audit records a sign-in or sign-out install-wide and in the log of each
// team of the user, whose admins want to see who came and went. A failure
// is logged, not shown: the user did sign in (or out).
func (c *Console) audit(ctx context.Context, user tenants.User, ip, action string) {
	ms, err := c.store.TeamsOf(ctx, user.ID)
	if err != nil {
		c.log.Warn("console: list teams for audit", "action", action, "err", err)
	}
	teams := []string{""}
	for _, m := range ms {
		teams = append(teams, m.Team.ID)
	}
	e := tenants.AuditEntry{
		ActorID: user.ID, ActorName: user.Email, ActorIP: ip, Action: action,
		TargetType: "user", TargetID: user.ID, TargetName: user.Email,
	}
	for _, team := range teams {
		if err := c.store.RecordAudit(ctx, team, e); err != nil {
			c.log.Warn("console: record audit", "action", action, "err", err)
		}
	}
}

// userName is how the console names a user: the name, else the email.
func userName(u tenants.User) string {
	if strings.TrimSpace(u.Name) != "" {
		return u.Name
	}
	return u.Email
}
