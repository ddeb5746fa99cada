package console

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// listPage is the page of a list the URL asks for; lists show 50 rows a page
// and go on with the "after" cursor.
func listPage(fc *fiber.Ctx) tenants.Page {
	return tenants.Page{Limit: 50, After: fc.Query("after")}
}

// listFail answers a failed list: a bad cursor is the user's (an edited
// URL), anything else is ours.
func (c *Console) listFail(fc *fiber.Ctx, what string, err error) error {
	if attach.ErrorCode(err) == attach.CodeInvalid {
		return c.fail(fc, &attach.Error{Code: attach.CodeBadRequest, Reason: "bad_cursor", Message: "This page link is not valid. Go back to the first page."})
	}
	return c.storeFail(fc, what, err)
}

func (c *Console) enginesPage(fc *fiber.Ctx) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.store.ListEngines(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list engines", err)
	}
	v := enginesView{Engines: list, Next: next, Paged: page.After != "", CanEdit: t.role.CanManageTeam()}
	return render(fc, fiber.StatusOK, enginesPage(c.teamChrome(fc, "Engines", "engines"), v))
}

func (c *Console) newEnginePage(fc *fiber.Ctx) error {
	return c.renderEngineForm(fc, fiber.StatusOK, engineFormView{Dialect: attach.DialectOllama})
}

func (c *Console) renderEngineForm(fc *fiber.Ctx, status int, v engineFormView) error {
	title := "Register engine"
	if v.Engine != nil {
		title = "Engine " + v.Engine.Name
	}
	return render(fc, status, engineFormPage(c.teamChrome(fc, title, "engines"), v))
}

// engineForm reads the engine form. The upstream key goes into the input
// only when one was typed (or removal was asked for), so an empty field on
// edit keeps the stored key.
func engineForm(fc *fiber.Ctx) (tenants.EngineInput, engineFormView) {
	in := tenants.EngineInput{
		Name:    form(fc, "name"),
		Dialect: form(fc, "dialect"),
		BaseURL: form(fc, "base_url"),
		Models:  splitList(fc.FormValue("models")),
		Default: checked(fc, "default"),
	}
	if key := strings.TrimSpace(fc.FormValue("api_key")); key != "" {
		in.APIKey = &key
	} else if checked(fc, "clear_api_key") {
		none := ""
		in.APIKey = &none
	}
	v := engineFormView{
		Name: in.Name, Dialect: in.Dialect, BaseURL: in.BaseURL, Default: in.Default,
		Models:  strings.Join(in.Models, "\n"),
		KeyLost: in.APIKey != nil && *in.APIKey != "",
	}
	return in, v
}

// checkEngineURL asks the network policy about the base URL before it is
// saved; a refusal is shown next to the field.
func (c *Console) checkURL(ctx context.Context, field, raw string) formErrors {
	if raw == "" {
		return formErrors{field: "Enter a URL"}
	}
	if err := c.probe.CheckURL(ctx, raw); err != nil {
		return formErrors{field: capitalize(err.Error())}
	}
	return nil
}

// checkEngine finds every field of the engine form the gateway would
// refuse: the network policy for the base URL, the store's rules for all.
func (c *Console) checkEngine(ctx context.Context, in tenants.EngineInput) formErrors {
	fe := formErrors{}.merge(c.checkURL(ctx, "base_url", in.BaseURL))
	return fe.merge(checkAll(in, tenants.EngineInput.Check, map[string]func(*tenants.EngineInput){
		"name":     func(in *tenants.EngineInput) { in.Name = "engine" },
		"dialect":  func(in *tenants.EngineInput) { in.Dialect = attach.DialectOllama },
		"base_url": func(in *tenants.EngineInput) { in.BaseURL = "http://engine.invalid" },
		"api_key":  func(in *tenants.EngineInput) { in.APIKey = nil },
		"models":   func(in *tenants.EngineInput) { in.Models = nil },
	})).orNil()
}

func (c *Console) createEngine(fc *fiber.Ctx) error {
	t := current(fc)
	in, v := engineForm(fc)
	if fe := c.checkEngine(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderEngineForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.store.CreateEngine(c.actor(fc), t.team.ID, in); err != nil {
		return c.engineSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/engines?done=engine-created"))
}

func (c *Console) engineSaveFailed(fc *fiber.Ctx, v engineFormView, err error) error {
	if fe, status, ok := saveRefused(err, "name", "The team has an engine with this name already"); ok {
		v.Errors = fe
		return c.renderEngineForm(fc, status, v)
	}
	return c.storeFail(fc, "save engine", err)
}

func (c *Console) enginePage(fc *fiber.Ctx) error {
	e, err := c.store.GetEngine(fc.UserContext(), current(fc).team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get engine", err)
	}
	return c.renderEngineForm(fc, fiber.StatusOK, engineView(e))
}

func engineView(e attach.Engine) engineFormView {
	return engineFormView{
		Engine: &e, Name: e.Name, Dialect: e.Dialect, BaseURL: e.BaseURL,
		Models: strings.Join(e.Models, "\n"), Default: e.Default,
	}
}

func (c *Console) updateEngine(fc *fiber.Ctx) error {
	t := current(fc)
	cur, err := c.store.GetEngine(fc.UserContext(), t.team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get engine", err)
	}
	in, v := engineForm(fc)
	v.Engine = &cur
	if fe := c.checkEngine(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderEngineForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.store.UpdateEngine(c.actor(fc), t.team.ID, cur.ID, in); err != nil {
		return c.engineSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/engines?done=engine-saved"))
}

func (c *Console) deleteEngine(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.store.DeleteEngine(c.actor(fc), t.team.ID, fc.Params("id")); err != nil {
		return c.storeFail(fc, "delete engine", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/engines?done=engine-deleted"))
}

// engineProbeTimeout bounds a "Test": an engine that does not answer in
// this time is as good as down to the admin looking at the page.
const engineProbeTimeout = 15 * time.Second

// testEngine calls the engine through the Prober. A script gets JSON; a
// browser without script gets the engine's page with the outcome.
func (c *Console) testEngine(fc *fiber.Ctx) error {
	e, err := c.store.GetEngine(fc.UserContext(), current(fc).team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get engine", err)
	}
	ctx, cancel := context.WithTimeout(fc.UserContext(), engineProbeTimeout)
	defer cancel()
	models, rtt, err := c.probe.ProbeEngine(ctx, e)
	r := testResult{OK: err == nil, Models: models, RTTms: rtt.Milliseconds()}
	if err != nil {
		r.Error = err.Error()
		r.Models = nil
	}
	compareModels(current(fc).team.Slug, e, &r)
	if wantsJSON(fc) {
		if !r.OK {
			return web.WriteError(fc, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: "engine_unreachable", Message: r.Error})
		}
		if r.Models == nil {
			r.Models = []string{}
		}
		return writeJSON(fc, fiber.StatusOK, r)
	}
	v := engineView(e)
	v.Test = &r
	return c.renderEngineForm(fc, fiber.StatusOK, v)
}

// keyHint is what a page shows of an upstream key: its last four
// characters, never more.
func keyHint(e attach.Engine) string {
	if e.APIKeyLast4 == "" {
		return "—"
	}
	return "••••" + e.APIKeyLast4
}

// modelSummary keeps a long model list to one line.
func modelSummary(models []string) string {
	const shown = 4
	switch {
	case len(models) == 0:
		return "—"
	case len(models) <= shown:
		return strings.Join(models, ", ")
	}
	return strings.Join(models[:shown], ", ") + " and " + strconv.Itoa(len(models)-shown) + " more"
}

func engineFormAction(ch chrome, e *attach.Engine) string {
	if e == nil {
		return teamURL(ch.Team.Slug, "/engines")
	}
	return teamURL(ch.Team.Slug, "/engines/"+e.ID)
}
