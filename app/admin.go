package app

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/attach-dev/attach-gateway/app/proxy"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The management API: JSON CRUD over teams and their issuers, engines and API
// keys, guarded by ATTACH_ADMIN_TOKEN. It lives under /admin/v1, a prefix no
// engine route uses.
func (a *App) adminRoutes(r fiber.Router) {
	r.Get("/teams", a.listTeams)
	r.Post("/teams", a.createTeam)
	r.Get("/teams/:team", a.getTeam)
	r.Patch("/teams/:team", a.updateTeam)
	r.Delete("/teams/:team", a.deleteTeam)

	r.Get("/teams/:team/issuers", a.listIssuers)
	r.Post("/teams/:team/issuers", a.createIssuer)
	r.Get("/teams/:team/issuers/:id", a.getIssuer)
	r.Put("/teams/:team/issuers/:id", a.updateIssuer)
	r.Delete("/teams/:team/issuers/:id", a.deleteIssuer)

	r.Get("/teams/:team/engines", a.listEngines)
	r.Post("/teams/:team/engines", a.createEngine)
	r.Get("/teams/:team/engines/:id", a.getEngine)
	r.Put("/teams/:team/engines/:id", a.updateEngine)
	r.Delete("/teams/:team/engines/:id", a.deleteEngine)

	r.Get("/teams/:team/keys", a.listKeys)
	r.Post("/teams/:team/keys", a.createKey)
	r.Get("/teams/:team/keys/:id", a.getKey)
	r.Delete("/teams/:team/keys/:id", a.revokeKey)

	r.Use(func(c *fiber.Ctx) error {
		return proxy.WriteError(c, fiber.StatusNotFound, "not_found", "no management route for "+c.Method()+" "+c.Path())
	})
}

// requireAdmin checks the management token in constant time.
func (a *App) requireAdmin(c *fiber.Ctx) error {
	if a.cfg.AdminToken == "" {
		return proxy.WriteError(c, fiber.StatusForbidden, "admin_disabled", "the management API is disabled: set ATTACH_ADMIN_TOKEN")
	}
	tok := bearerToken(c)
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminToken)) != 1 {
		a.metrics.authFailures.WithLabelValues("admin_token").Inc()
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="attach-admin", error="invalid_token"`)
		return proxy.WriteError(c, fiber.StatusUnauthorized, "invalid_token", "a valid management token is required")
	}
	return c.Next()
}

// --- teams ---

func (a *App) listTeams(c *fiber.Ctx) error {
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	items, next, err := a.store.ListTeams(c.UserContext(), page)
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

func (a *App) updateTeam(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := a.store.UpdateTeam(c.UserContext(), c.Params("team"), tenants.TeamInput{Slug: c.Params("team"), Name: in.Name})
	return found(c, t, err)
}

func (a *App) deleteTeam(c *fiber.Ctx) error {
	if c.Params("team") == a.cfg.DefaultTeam {
		return proxy.WriteError(c, fiber.StatusConflict, "default_team", "the default team serves the root routes and cannot be deleted")
	}
	return deleted(c, a.store.DeleteTeam(c.UserContext(), c.Params("team")))
}

// teamID resolves the :team slug of a nested route.
func (a *App) teamID(c *fiber.Ctx) (string, error) {
	t, err := a.store.GetTeam(c.UserContext(), c.Params("team"))
	if errors.Is(err, tenants.ErrNotFound) {
		return "", apiErr(fiber.StatusNotFound, "not_found", "no such team")
	}
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// --- issuers ---

func (a *App) listIssuers(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	items, next, err := a.store.ListIssuers(c.UserContext(), team, page)
	return listResponse(c, items, next, err)
}

func (a *App) createIssuer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in tenants.IssuerInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	is, err := a.store.CreateIssuer(c.UserContext(), team, in)
	return created(c, is, err)
}

func (a *App) getIssuer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	is, err := a.store.GetIssuer(c.UserContext(), team, c.Params("id"))
	return found(c, is, err)
}

func (a *App) updateIssuer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in tenants.IssuerInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	is, err := a.store.UpdateIssuer(c.UserContext(), team, c.Params("id"), in)
	return found(c, is, err)
}

func (a *App) deleteIssuer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	return deleted(c, a.store.DeleteIssuer(c.UserContext(), team, c.Params("id")))
}

// --- engines ---

func (a *App) listEngines(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	items, next, err := a.store.ListEngines(c.UserContext(), team, page)
	return listResponse(c, items, next, err)
}

func (a *App) createEngine(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in tenants.EngineInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := a.store.CreateEngine(c.UserContext(), team, in)
	return created(c, e, err)
}

func (a *App) getEngine(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	e, err := a.store.GetEngine(c.UserContext(), team, c.Params("id"))
	return found(c, e, err)
}

func (a *App) updateEngine(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in tenants.EngineInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := a.store.UpdateEngine(c.UserContext(), team, c.Params("id"), in)
	return found(c, e, err)
}

func (a *App) deleteEngine(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	return deleted(c, a.store.DeleteEngine(c.UserContext(), team, c.Params("id")))
}

// --- API keys ---

func (a *App) listKeys(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	items, next, err := a.store.ListAPIKeys(c.UserContext(), team, page)
	return listResponse(c, items, next, err)
}

func (a *App) createKey(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var in tenants.APIKeyInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, secret, err := a.store.CreateAPIKey(c.UserContext(), team, in)
	if err != nil {
		return storeError(c, err)
	}
	// The secret is in this answer and nowhere else, ever.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(struct {
		tenants.APIKey
		Key string `json:"key"`
	}{k, secret})
}

func (a *App) getKey(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	k, err := a.store.GetAPIKey(c.UserContext(), team, c.Params("id"))
	return found(c, k, err)
}

func (a *App) revokeKey(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	return deleted(c, a.store.RevokeAPIKey(c.UserContext(), team, c.Params("id")))
}

// --- helpers ---

// decodeJSON reads a JSON object, refusing unknown fields so a typo in a
// field name is an error rather than a silently ignored setting.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return apiErr(fiber.StatusBadRequest, "invalid_json", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiErr(fiber.StatusBadRequest, "invalid_json", "request body is not valid: "+err.Error())
	}
	if dec.More() {
		return apiErr(fiber.StatusBadRequest, "invalid_json", "request body must hold a single JSON object")
	}
	return nil
}

func pageFrom(c *fiber.Ctx) (tenants.Page, error) {
	p := tenants.Page{After: c.Query("after")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, apiErr(fiber.StatusBadRequest, "invalid_query", "limit must be a number from 1 to 200")
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

// storeError maps the store's errors to statuses; anything unexpected is
// returned to the error handler, which logs it and answers 500.
func storeError(c *fiber.Ctx, err error) error {
	var ve *tenants.ValidationError
	switch {
	case errors.As(err, &ve):
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{"error": fiber.Map{
			"code": "invalid_field", "message": ve.Error(), "field": ve.Field,
		}})
	case errors.Is(err, tenants.ErrNotFound):
		return proxy.WriteError(c, fiber.StatusNotFound, "not_found", "no such "+resourceName(c))
	case errors.Is(err, tenants.ErrConflict):
		return proxy.WriteError(c, fiber.StatusConflict, "conflict", "a "+resourceName(c)+" with that name already exists")
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
	}
	return "team"
}
