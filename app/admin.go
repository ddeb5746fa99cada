package app

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// The management API: JSON CRUD over teams and their issuers, engines, A2A
// agents and API keys, and over the install's users, guarded by
// ATTACH_ADMIN_TOKEN. It lives under
// /admin/v1, a prefix no engine route uses.
func (a *App) adminRoutes(r fiber.Router) {
	r.Get("/teams", a.listTeams)
	r.Post("/teams", a.createTeam)
	r.Get("/teams/:team", a.getTeam)
	r.Patch("/teams/:team", a.updateTeam)
	r.Delete("/teams/:team", a.deleteTeam)

	mountResource(a, r, "/teams/:team/issuers", teamResource[tenants.IssuerInput, attach.Issuer]{
		list: a.store.ListIssuers, create: a.store.CreateIssuer, get: a.store.GetIssuer,
		update: a.store.UpdateIssuer, remove: a.store.DeleteIssuer,
		check: func(ctx context.Context, in tenants.IssuerInput) error {
			if err := a.checkURL(ctx, "issuer", in.URL); err != nil {
				return err
			}
			return a.checkExchangeIssuer(ctx, in)
		},
	})
	mountResource(a, r, "/teams/:team/engines", teamResource[tenants.EngineInput, attach.Engine]{
		list: a.store.ListEngines, create: a.store.CreateEngine, get: a.store.GetEngine,
		update: a.store.UpdateEngine, remove: a.store.DeleteEngine,
		check: func(ctx context.Context, in tenants.EngineInput) error {
			return a.checkURL(ctx, "base_url", in.BaseURL)
		},
	})

	// A key's secret is in the answer to its creation and nowhere else, so
	// creation has its own handler; DELETE revokes.
	r.Post("/teams/:team/keys", a.createKey)
	mountResource(a, r, "/teams/:team/keys", teamResource[tenants.APIKeyInput, attach.APIKey]{
		list: a.store.ListAPIKeys, get: a.store.GetAPIKey,
		update: a.store.UpdateAPIKey, remove: a.store.RevokeAPIKey,
	})

	a.userRoutes(r)
	a.agentRoutes(r)
	a.didPolicyRoutes(r)
	a.mcpServerRoutes(r)
	a.quotaRoutes(r)

	r.Get("/teams/:team/memory", a.getMemorySettings)
	r.Put("/teams/:team/memory", a.putMemorySettings)
	r.Get("/usage", a.adminUsage)

	r.Use(func(c *fiber.Ctx) error {
		return attach.Errorf(attach.CodeNotFound, "no management route for %s %s", c.Method(), c.Path())
	})
}

// requireAdmin checks the management token in constant time. Wrong tokens
// are counted per client address in Postgres (so every replica sees the
// same count); past the limit the address is answered 429 with
// Retry-After, the right token included, until the lock ends.
func (a *App) requireAdmin(c *fiber.Ctx) error {
	if a.cfg.AdminToken == "" {
		return &attach.Error{Code: attach.CodeForbidden, Reason: "admin_disabled", Message: "the management API is disabled: set ATTACH_ADMIN_TOKEN"}
	}
	ctx := c.UserContext()
	addr := c.IP()
	throttle := tenants.AdminKey(addr)
	wait, err := a.store.SignInAllowed(ctx, throttle)
	if err != nil {
		return fmt.Errorf("check management token throttle: %w", err)
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return attach.Errorf(attach.CodeTooMany, "too many wrong management tokens from this address; try again in %d s", secs)
	}
	tok := bearerToken(c)
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminToken)) != 1 {
		a.metrics.authFailures.WithLabelValues("admin_token").Inc()
		if tok != "" {
			// A request without a token guessed nothing; a wrong one is
			// counted and logged, by address and never with the token.
			a.log.Warn("management API: wrong management token", "request_id", requestID(c),
				"addr", addr, "method", c.Method(), "path", c.Path())
			if err := a.store.SignInFailed(ctx, throttle); err != nil {
				return fmt.Errorf("count wrong management token: %w", err)
			}
		}
		// The management API's own realm, which the error writer keeps; the
		// challenge is bare without a token (RFC 6750 §3.1), while the
		// body's code stays invalid_token either way.
		refusal := &attach.Error{Code: attach.CodeInvalidToken, Message: "a valid management token is required"}
		challenge := *refusal
		if tok == "" {
			challenge.Reason = attach.ReasonMissingToken
		}
		c.Set(fiber.HeaderWWWAuthenticate, web.Challenge("attach-admin", &challenge))
		return refusal
	}
	// Every change made through the management API lands in the team's
	// audit log, attributed to the token.
	c.SetUserContext(tenants.WithActor(ctx, tenants.Actor{Name: "admin token", IP: addr}))
	return c.Next()
}

// --- teams ---

func (a *App) listTeams(c *fiber.Ctx) error {
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	items, next, err := a.store.ListTeamSummaries(c.UserContext(), page)
	return listResponse(c, items, next, err)
}

func (a *App) createTeam(c *fiber.Ctx) error {
	var in tenants.TeamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := a.store.CreateTeam(c.UserContext(), in)
	return created(c, t, err)
}

func (a *App) getTeam(c *fiber.Ctx) error {
	t, err := a.store.GetTeam(c.UserContext(), c.Params("team"))
	return found(c, t, err)
}

// updateTeam changes the fields the body names and keeps the others. The
// slug stays: it is the team's URL, which agents are configured with.
func (a *App) updateTeam(c *fiber.Ctx) error {
	var in struct {
		Name          *string `json:"name"`
		EngineCookies *bool   `json:"engine_cookies"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	upd := tenants.TeamInput{Slug: c.Params("team"), EngineCookies: in.EngineCookies}
	if in.Name != nil {
		if *in.Name == "" {
			// For the store an empty name means "keep it"; sent, it is a
			// mistake.
			return attach.Invalid("name", "must be 1 to 200 characters")
		}
		upd.Name = *in.Name
	}
	t, err := a.store.UpdateTeam(c.UserContext(), c.Params("team"), upd)
	return found(c, t, err)
}

func (a *App) deleteTeam(c *fiber.Ctx) error {
	if c.Params("team") == a.cfg.DefaultTeam {
		return &attach.Error{Code: attach.CodeConflict, Reason: "default_team", Message: "the default team serves the root routes and cannot be deleted"}
	}
	return deleted(c, a.store.DeleteTeamBySlug(c.UserContext(), c.Params("team")))
}

// teamID resolves the :team slug of a nested route.
func (a *App) teamID(c *fiber.Ctx) (string, error) {
	t, err := a.store.GetTeam(c.UserContext(), c.Params("team"))
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return "", attach.Errorf(attach.CodeNotFound, "no such team")
	}
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// teamAndInput resolves the :team slug of a nested route, then decodes the
// request's JSON body, as every route that changes a team's things does.
func teamAndInput[In any](a *App, c *fiber.Ctx) (teamID string, in In, err error) {
	if teamID, err = a.teamID(c); err != nil {
		return "", in, err
	}
	if err = decodeJSON(c, &in); err != nil {
		return "", in, err
	}
	return teamID, in, nil
}

// checkedInput is teamAndInput followed by the resource's check.
func (res teamResource[In, Out]) checkedInput(a *App, c *fiber.Ctx) (string, In, error) {
	team, in, err := teamAndInput[In](a, c)
	if err == nil && res.check != nil {
		err = res.check(c.UserContext(), in)
	}
	return team, in, err
}

// checkURL refuses to save a URL the gateway may not call for a team, as
// the console does; the proxy checks again before every connection, since
// a name may resolve differently later.
func (a *App) checkURL(ctx context.Context, field, raw string) error {
	if raw == "" {
		return nil // the store says what is missing
	}
	if err := a.probe.CheckURL(ctx, raw); err != nil {
		return attach.Invalid(field, err.Error())
	}
	return nil
}

// teamResource is one kind of thing a team owns (issuers, engines, API
// keys), with the store's operations on it; mountResource serves it as REST
// routes. A nil create leaves POST to a handler of the resource's own.
type teamResource[In, Out any] struct {
	list   func(ctx context.Context, teamID string, p tenants.Page) ([]Out, string, error)
	create func(ctx context.Context, teamID string, in In) (Out, error)
	get    func(ctx context.Context, teamID, id string) (Out, error)
	update func(ctx context.Context, teamID, id string, in In) (Out, error)
	remove func(ctx context.Context, teamID, id string) error
	// check, when set, refuses an input before create or update (a URL the
	// gateway may not call).
	check func(ctx context.Context, in In) error
}

func mountResource[In, Out any](a *App, r fiber.Router, path string, res teamResource[In, Out]) {
	r.Get(path, func(c *fiber.Ctx) error {
		team, err := a.teamID(c)
		if err != nil {
			return err
		}
		page, err := pageFrom(c)
		if err != nil {
			return err
		}
		items, next, err := res.list(c.UserContext(), team, page)
		return listResponse(c, items, next, err)
	})
	if res.create != nil {
		r.Post(path, func(c *fiber.Ctx) error {
			team, in, err := res.checkedInput(a, c)
			if err != nil {
				return err
			}
			out, err := res.create(c.UserContext(), team, in)
			return created(c, out, err)
		})
	}
	r.Get(path+"/:id", func(c *fiber.Ctx) error {
		team, err := a.teamID(c)
		if err != nil {
			return err
		}
		out, err := res.get(c.UserContext(), team, c.Params("id"))
		return found(c, out, err)
	})
	r.Put(path+"/:id", func(c *fiber.Ctx) error {
		team, in, err := res.checkedInput(a, c)
		if err != nil {
			return err
		}
		out, err := res.update(c.UserContext(), team, c.Params("id"), in)
		return found(c, out, err)
	})
	r.Delete(path+"/:id", func(c *fiber.Ctx) error {
		team, err := a.teamID(c)
		if err != nil {
			return err
		}
		return deleted(c, res.remove(c.UserContext(), team, c.Params("id")))
	})
}

// --- API keys ---

func (a *App) createKey(c *fiber.Ctx) error {
	team, in, err := teamAndInput[tenants.APIKeyInput](a, c)
	if err != nil {
		return err
	}
	k, secret, err := a.store.CreateAPIKey(c.UserContext(), team, in)
	if err != nil {
		return storeError(c, err)
	}
	// The secret is in this answer and nowhere else, ever.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(struct {
		attach.APIKey
		Key string `json:"key"`
	}{k, secret})
}

// --- helpers ---

// decodeJSON reads a JSON object, refusing unknown fields so a typo in a
// field name is an error rather than a silently ignored setting.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return attach.Errorf(attach.CodeInvalidJSON, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return attach.Errorf(attach.CodeInvalidJSON, "request body is not valid: %s", err)
	}
	if dec.More() {
		return attach.Errorf(attach.CodeInvalidJSON, "request body must hold a single JSON object")
	}
	return nil
}

func pageFrom(c *fiber.Ctx) (tenants.Page, error) {
	p := tenants.Page{After: c.Query("after")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, &attach.Error{Code: attach.CodeBadRequest, Reason: "invalid_query", Message: "limit must be a number from 1 to 200"}
		}
		p.Limit = n
	}
	return p, nil
}

func listResponse[T any](c *fiber.Ctx, items []T, next string, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	if items == nil {
		items = []T{}
	}
	return c.JSON(fiber.Map{"items": items, "next": next})
}

func created(c *fiber.Ctx, v any, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func found(c *fiber.Ctx, v any, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(v)
}

func deleted(c *fiber.Ctx, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// storeError names the resource in a store's not found and conflict
// errors, whose own messages speak of queries. Any other error goes out as
// it is: a validation error with its field, a failure of ours as a logged
// 500.
func storeError(c *fiber.Ctx, err error) error {
	switch attach.ErrorCode(err) {
	case attach.CodeNotFound:
		return attach.Errorf(attach.CodeNotFound, "no such %s", resourceName(c))
	case attach.CodeConflict:
		return attach.Errorf(attach.CodeConflict, "a %s with that name already exists", resourceName(c))
	}
	return err
}

// resourceName names what a management route is about, for messages.
func resourceName(c *fiber.Ctx) string {
	route := c.Route().Path
	switch {
	case strings.Contains(route, "/issuers"):
		return "issuer"
	case strings.Contains(route, "/engines"):
		return "engine"
	case strings.Contains(route, "/keys"):
		return "API key"
	case strings.Contains(route, "/agents"):
		return "agent"
	case strings.Contains(route, "/mcp-servers"):
		return "MCP server"
	case strings.Contains(route, "/users"):
		return "user"
	}
	return "team"
}

// --- memory settings ---

func (a *App) getMemorySettings(c *fiber.Ctx) error {
	id, err := a.teamID(c)
	if err != nil {
		return err
	}
	st, err := a.mem.store.Settings(c.UserContext(), id)
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(st)
}

// putMemorySettings sets the team's memory backend ("" for the install's
// default) and embedding model ("" for none).
func (a *App) putMemorySettings(c *fiber.Ctx) error {
	id, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in struct {
		Backend    string `json:"backend"`
		EmbedModel string `json:"embed_model"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	st, err := a.mem.store.SetSettings(c.UserContext(), id, memory.TeamSettings{Backend: in.Backend, EmbedModel: in.EmbedModel})
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(st)
}
