package console

import (
	"context"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// compareModels sets, on a successful "Test" of e, the configured models
// the engine did not list (requests for them would fail at the engine)
// and the models it serves that its list lacks (which "Import" adds), and
// where to post the import.
func compareModels(slug string, e attach.Engine, r *testResult) {
	if !r.OK {
		return
	}
	r.Missing, r.Importable = tenants.CompareModels(e.Models, r.Models)
	if r.Missing == nil {
		r.Missing = []string{}
	}
	if r.Importable == nil {
		r.Importable = []string{}
	}
	if len(r.Importable) > 0 {
		r.ImportURL = teamURL(slug, "/engines/"+e.ID+"/import")
	}
}

// importEngineModels adds the models the engine serves to its model list.
// It asks the engine again rather than trusting a list from the page, so
// a forged or stale form can add nothing the engine does not serve. Then
// it redirects to the engine's page, whose model list shows the result.
func (c *Console) importEngineModels(fc *fiber.Ctx) error {
	t := current(fc)
	e, err := c.store.GetEngine(fc.UserContext(), t.team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get engine", err)
	}
	ctx, cancel := context.WithTimeout(fc.UserContext(), engineProbeTimeout)
	defer cancel()
	served, _, err := c.probe.ProbeEngine(ctx, e)
	if err != nil {
		return c.fail(fc, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: "engine_unreachable",
			Message: "Nothing was imported: the engine did not list its models (" + err.Error() + ")."})
	}
	_, added, err := c.store.AddEngineModels(c.actor(fc), t.team.ID, e.ID, served)
	if err != nil {
		if attach.ErrorCode(err) == attach.CodeInvalid {
			return c.fail(fc, &attach.Error{Code: attach.CodeInvalid, Field: "models", Message: "Nothing was imported: " + attach.AsError(err).Message})
		}
		return c.storeFail(fc, "import engine models", err)
	}
	done := "engine-imported"
	if len(added) == 0 {
		done = "engine-up-to-date"
	}
	return seeOther(fc, teamURL(t.team.Slug, "/engines/"+e.ID+"?done="+done))
}
