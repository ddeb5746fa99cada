package app

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/proxy"
	"github.com/attach-dev/attach-gateway/tenants"
)

const (
	localRequestID = "attach.request_id"
	localTeam      = "attach.team"
	localUser      = "attach.user"
)

// observe gives every request an id, then logs it and counts it in metrics
// once it is answered. Only the path is logged, never the query string or
// headers, which may carry tokens.
func (a *App) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if validRequestID(id) {
		id = strings.Clone(id) // kept after the request buffer is reused
	} else {
		id = newRequestID()
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)

	err := c.Next()
	if err != nil {
		// Answer now so the status we record is the one the client gets.
		if herr := a.errorHandler(c, err); herr != nil {
			a.log.Error("write error response", "request_id", id, "err", herr)
		}
	}
	status := c.Response().StatusCode()
	route := c.Route().Path
	elapsed := time.Since(start)
	a.metrics.requests.WithLabelValues(route, methodLabel(c.Method()), strconv.Itoa(status)).Inc()
	a.metrics.latency.WithLabelValues(route).Observe(elapsed.Seconds())
	if a.log.Enabled(c.UserContext(), slog.LevelInfo) {
		team, _ := c.Locals(localTeam).(string)
		user, _ := c.Locals(localUser).(string)
		// A record built by hand skips slog's call-site lookup, and typed
		// attributes with an integer duration skip encoding/json (slog
		// writes floats through it): together most of a log line's cost.
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		r.AddAttrs(slog.String("request_id", id), slog.String("method", c.Method()), slog.String("path", loggedPath(c.Path())),
			slog.String("route", route), slog.Int("status", status), slog.Int64("duration_us", elapsed.Microseconds()),
			slog.String("team", team), slog.String("user", user))
		_ = a.log.Handler().Handle(c.UserContext(), r) // a failing log sink must not fail the request
	}
	return nil
}

// secretPathPrefixes are routes whose next path segment is a secret (an
// invite link's token); the log shows the route instead of the value.
var secretPathPrefixes = []string{"/console/invite/"}

// loggedPath is the request path as the log may show it.
func loggedPath(p string) string {
	for _, prefix := range secretPathPrefixes {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			_, tail, _ := strings.Cut(rest, "/")
			if tail != "" {
				tail = "/" + tail
			}
			return prefix + ":token" + tail
		}
	}
	return p
}

// methodLabel returns a string that outlives the request: Fiber's strings
// point into buffers that are reused, and metric labels are kept forever.
// It returns the constant from knownMethods, never m itself.
func methodLabel(m string) string {
	for _, known := range knownMethods {
		if m == known {
			return known
		}
	}
	return "other"
}

// knownMethods are the methods the metrics name; any other is "other".
var knownMethods = []string{
	fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodHead, fiber.MethodOptions,
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// validRequestID accepts a caller's id only if it is short and plain, so it
// is safe to echo and to log.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// stripAttachHeaders removes every inbound X-Attach-* header, in whatever
// spelling (X_Attach_User too, see proxy.IsAttachHeader), before anything
// else looks at the request: identity headers are set by the gateway alone.
func stripAttachHeaders(c *fiber.Ctx) error {
	h := &c.Request().Header
	var spoofed []string
	h.VisitAll(func(k, _ []byte) {
		if proxy.IsAttachHeader(k) {
			spoofed = append(spoofed, string(k))
		}
	})
	for _, k := range spoofed {
		h.Del(k)
	}
	return c.Next()
}

// engine serves one proxied engine route: find the team, verify the caller,
// stamp identity, hand over to the proxy. byParam says whether the team comes
// from /t/{team} or is the default team at the root.
func (a *App) engine(path string, byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, session, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		if err := a.admit(c, team, p, path); err != nil {
			return err
		}
		if err := a.bodies.Read(c, a.cfg.MaxBodyBytes); err != nil {
			return err
		}
		id := proxy.Identity{User: p.Subject, Tenant: team.Team.Slug, Session: session, KeyID: p.KeyID, Agent: p.Actor}
		return a.proxy.Serve(c, team, path, id)
	}
}

// authenticate resolves the team (from /t/{team} when byParam, else the
// default team) and verifies the caller's token for it. An unknown team is
// 404 unknown_team; a refused token is an attach.CodeInvalidToken error with
// the reason, which the error writer answers 401 with the RFC 6750
// challenge.
func (a *App) authenticate(c *fiber.Ctx, byParam bool) (*tenants.Snapshot, attach.Principal, string, error) {
	team, err := a.lookupTeam(c, byParam)
	if err != nil {
		return nil, attach.Principal{}, "", err
	}

	token := bearerToken(c)
	p, err := a.verify.Verify(c.UserContext(), team, token)
	if err != nil {
		refusal := identity.AsError(err)
		if refusal.Reason == identity.ReasonUnknownAPIKey {
			refusal = a.keyOfAnotherTeam(team, token, refusal)
		}
		a.metrics.authFailures.WithLabelValues(refusal.Reason).Inc()
		return nil, attach.Principal{}, "", refusal
	}
	if err := a.checkAudience(c, team, p); err != nil {
		return nil, attach.Principal{}, "", err
	}
	if err := a.checkConsoleAccess(c.UserContext(), team, &p); err != nil {
		if refusal, ok := err.(*attach.Error); ok && refusal.Code == attach.CodeInvalidToken {
			a.metrics.authFailures.WithLabelValues(refusal.Reason).Inc()
		}
		return nil, attach.Principal{}, "", err
	}
	c.Locals(localUser, p.Subject)
	now := time.Now()
	a.callers.record(p, now) // who called, for the console's Callers page
	if p.KeyID != "" {
		a.usage.record(p.KeyID, now)
	}
	if (p.Method == identity.MethodDelegation || p.Method == attach.MethodExchange) && p.Session != "" {
		// An agent calling back for the user stays in the user's session.
		return team, p, p.Session, nil
	}
	session, err := a.sessionOf(c, team.Team.ID, p.Subject)
	if err != nil {
		return nil, attach.Principal{}, "", err
	}
	return team, p, session, nil
}

// lookupTeam resolves the team (from /t/{team} when byParam, else the
// default team) without verifying anyone; an unknown team is 404
// unknown_team.
func (a *App) lookupTeam(c *fiber.Ctx, byParam bool) (*tenants.Snapshot, error) {
	slug := a.cfg.DefaultTeam
	if byParam {
		slug = c.Params("team")
	}
	team, ok := a.dir.Team(slug)
	if !ok {
		return nil, &attach.Error{Code: attach.CodeNotFound, Reason: "unknown_team", Message: "no team named " + strconv.Quote(slug)}
	}
	c.Locals(localTeam, team.Team.Slug)
	return team, nil
}

// bearerToken reads "Authorization: Bearer <token>"; the scheme is
// case-insensitive (RFC 7235). Anything else yields "".
func bearerToken(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}
