package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/web"
)

// listTimeout bounds one engine's answer to a model listing: a listing is
// quick for a healthy engine, and one hung engine must not hold up the
// models of the others for the full ResponseHeaderTimeout.
const listTimeout = 10 * time.Second

// maxListBytes bounds a model listing read from an engine.
const maxListBytes = 8 << 20

// engineModels is what one engine contributed to a listing.
type engineModels struct {
	models dialect.Models
	err    error
}

// serveList answers /api/tags and /v1/models with the models of all the
// team's engines, asked concurrently, in the dialect of the route.
func (p *Proxy) serveList(c *fiber.Ctx, team *tenants.Snapshot, r *dialect.Route) error {
	if len(team.Engines) == 0 {
		return attach.Errorf(attach.CodeNoEngine, "team %s has no engines", team.Team.Slug)
	}
	found := make([]engineModels, len(team.Engines))
	var wg sync.WaitGroup
	for i, e := range team.Engines {
		wg.Go(func() { found[i] = p.listEngine(e) })
	}
	wg.Wait()

	var body any
	answered := false
	if r.Dialect == attach.DialectOllama {
		list, ok := mergeOllama(team, found)
		body, answered = list, ok
	} else {
		list, ok := mergeOpenAI(team, found)
		body, answered = list, ok
	}
	if !answered {
		return attach.Errorf(attach.CodeUpstreamUnavailable, "no engine of team %s answered and none has models configured", team.Team.Slug)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode model list: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(http.StatusOK).Send(b)
}

// listEngine asks one engine for its models in its own dialect.
func (p *Proxy) listEngine(e attach.Engine) engineModels {
	path := dialect.ListPath(e.Dialect)
	body, err := p.getJSON(e, path)
	if err != nil {
		p.log.Warn("engine did not list its models", "engine", e.Name, "err", err)
		return engineModels{err: err}
	}
	models, err := dialect.ReadModels(e.Dialect, body)
	if err != nil {
		return engineModels{err: fmt.Errorf("%s of engine %s: %w", path, e.Name, err)}
	}
	return engineModels{models: models}
}

// getJSON fetches path from engine e and returns the body of a 200 answer.
func (p *Proxy) getJSON(e attach.Engine, path string) ([]byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURIBytes(dialect.AppendURL(nil, e.BaseURL, path, nil))
	req.Header.SetMethod(http.MethodGet)
	req.Header.Set("Accept", "application/json")
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	start := time.Now()
	err := p.clientFor(e).DoTimeout(req, resp, min(listTimeout, p.cfg.ResponseHeaderTimeout))
	took := time.Since(start)
	if err != nil {
		p.observe(e.Name, path, web.Status(upstreamError(e, err)), took)
		return nil, fmt.Errorf("get %s from engine %s: %w", path, e.Name, err)
	}
	p.observe(e.Name, path, resp.StatusCode(), took)
	defer resp.CloseBodyStream()
	if resp.StatusCode() != http.StatusOK {
		return nil, fmt.Errorf("get %s from engine %s: status %d", path, e.Name, resp.StatusCode())
	}
	stream := resp.BodyStream()
	if stream == nil {
		return nil, fmt.Errorf("get %s from engine %s: empty answer", path, e.Name)
	}
	body, err := io.ReadAll(io.LimitReader(stream, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s from engine %s: %w", path, e.Name, err)
	}
	if len(body) > maxListBytes {
		return nil, fmt.Errorf("read %s from engine %s: answer larger than %s", path, e.Name, web.FormatBytes(maxListBytes))
	}
	return body, nil
}

// mergeOllama builds /api/tags from every engine's contribution, the first
// engine to list a model winning. ok is false when no engine contributed.
func mergeOllama(team *tenants.Snapshot, found []engineModels) (dialect.OllamaList, bool) {
	models, ok := mergeModels(team, found, dialect.Models.AsOllama,
		func(e attach.Engine, name string) dialect.OllamaModel { return dialect.OllamaEntry(name, e.UpdatedAt) },
		func(m dialect.OllamaModel) string { return m.Name })
	return dialect.OllamaList{Models: models}, ok
}

// mergeOpenAI builds /v1/models from every engine's contribution, the first
// engine to list a model winning. ok is false when no engine contributed.
func mergeOpenAI(team *tenants.Snapshot, found []engineModels) (dialect.OpenAIList, bool) {
	models, ok := mergeModels(team, found, dialect.Models.AsOpenAI,
		func(e attach.Engine, name string) dialect.OpenAIModel {
			return dialect.OpenAIModel{ID: name, Created: unixOrZero(e.UpdatedAt), OwnedBy: e.Name}
		},
		func(m dialect.OpenAIModel) string { return m.ID })
	// Every entry is a "model", whatever an engine's own list said.
	for i := range models {
		models[i].Object = "model"
	}
	return dialect.OpenAIList{Object: "list", Data: models}, ok
}

// mergeModels gathers a listing's models in one dialect, engine by engine:
// an engine that answered gives its models (listed converts them to the
// dialect), one that did not gives the models configured for it (entry
// makes one from its name). A model is left out when one of the same
// canonical name came before it, and so is one the gateway would not route
// to the engine that reported it (an engine not ticked default reporting a
// model it is not configured for): the list is what a client can call.
// ok is false when no engine contributed.
func mergeModels[M any](team *tenants.Snapshot, found []engineModels, listed func(dialect.Models) []M,
	entry func(e attach.Engine, name string) M, name func(M) string) (out []M, ok bool) {
	out = []M{}
	seen := map[string]bool{}
	for i, e := range team.Engines {
		var models []M
		if found[i].err == nil {
			models = listed(found[i].models)
			ok = true // an answer counts, even an empty list
		} else {
			for _, n := range e.Models {
				models = append(models, entry(e, n))
			}
			ok = ok || len(models) > 0
		}
		for _, m := range models {
			key := tenants.CanonicalModel(name(m))
			if routed, ok := team.Engine(name(m)); !ok || routed.ID != e.ID || routed.Name != e.Name {
				continue
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, m)
			}
		}
	}
	return out, ok
}

// unixOrZero is t in Unix seconds, 0 for an unknown time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
