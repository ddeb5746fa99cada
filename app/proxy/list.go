package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// listTimeout bounds one engine's answer to a model listing: a listing is
// quick for a healthy engine, and one hung engine must not hold up the
// models of the others for the full ResponseHeaderTimeout.
const listTimeout = 10 * time.Second

// maxListBytes bounds a model listing read from an engine.
const maxListBytes = 8 << 20

// ollamaModel is one entry of Ollama's GET /api/tags.
type ollamaModel struct {
	Name       string          `json:"name"`
	Model      string          `json:"model"`
	ModifiedAt string          `json:"modified_at"`
	Size       int64           `json:"size"`
	Digest     string          `json:"digest"`
	Details    json.RawMessage `json:"details"`
}

type ollamaList struct {
	Models []ollamaModel `json:"models"`
}

// ollamaDetails is the shape of "details" for models the gateway knows
// nothing about beyond their name.
type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

var emptyDetails, _ = json.Marshal(ollamaDetails{})

// openAIModel is one entry of OpenAI's GET /v1/models.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type openAIList struct {
	Object string        `json:"object"`
	Data   []openAIModel `json:"data"`
}

// engineModels is what one engine contributed to a listing, in the
// engine's own dialect.
type engineModels struct {
	ollama []ollamaModel
	openai []openAIModel
	err    error
}

// serveList answers /api/tags and /v1/models with the models of all the
// team's engines, asked concurrently, in the dialect of the route.
func (p *Proxy) serveList(c *fiber.Ctx, team *tenants.Snapshot, r *route) error {
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
	if r.dialect == attach.DialectOllama {
		list, ok := mergeOllama(team.Engines, found)
		body, answered = list, ok
	} else {
		list, ok := mergeOpenAI(team.Engines, found)
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
	path := "/v1/models"
	if e.Dialect == attach.DialectOllama {
		path = "/api/tags"
	}
	body, err := p.getJSON(e, path)
	if err != nil {
		p.log.Warn("engine did not list its models", "engine", e.Name, "err", err)
		return engineModels{err: err}
	}
	var m engineModels
	if e.Dialect == attach.DialectOllama {
		var l ollamaList
		if err := json.Unmarshal(body, &l); err != nil {
			return engineModels{err: fmt.Errorf("decode %s of engine %s: %w", path, e.Name, err)}
		}
		m.ollama = l.Models
	} else {
		var l openAIList
		if err := json.Unmarshal(body, &l); err != nil {
			return engineModels{err: fmt.Errorf("decode %s of engine %s: %w", path, e.Name, err)}
		}
		m.openai = l.Data
	}
	return m
}

// getJSON fetches path from engine e and returns the body of a 200 answer.
func (p *Proxy) getJSON(e attach.Engine, path string) ([]byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURIBytes(appendUpstreamURL(nil, e.BaseURL, path, nil))
	req.Header.SetMethod(http.MethodGet)
	req.Header.Set("Accept", "application/json")
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	start := time.Now()
	err := p.client.DoTimeout(req, resp, min(listTimeout, p.cfg.ResponseHeaderTimeout))
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
		return nil, fmt.Errorf("read %s from engine %s: answer larger than %s", path, e.Name, formatBytes(maxListBytes))
	}
	return body, nil
}

// mergeOllama builds /api/tags from every engine's contribution, the first
// engine to list a model winning. ok is false when no engine contributed.
func mergeOllama(engines []attach.Engine, found []engineModels) (out ollamaList, ok bool) {
	out.Models = []ollamaModel{}
	seen := map[string]bool{}
	add := func(m ollamaModel) {
		key := tenants.CanonicalModel(m.Name)
		if seen[key] {
			return
		}
		seen[key] = true
		out.Models = append(out.Models, m)
	}
	for i, e := range engines {
		f := found[i]
		switch {
		case f.err != nil:
			if len(e.Models) > 0 {
				ok = true
			}
			for _, name := range e.Models {
				add(ollamaModel{Name: name, Model: name, ModifiedAt: e.UpdatedAt.UTC().Format(time.RFC3339Nano), Details: emptyDetails})
			}
		default:
			ok = true
			for _, m := range f.ollama {
				if m.Model == "" {
					m.Model = m.Name
				}
				if len(m.Details) == 0 {
					m.Details = emptyDetails
				}
				add(m)
			}
			for _, m := range f.openai {
				add(ollamaModel{Name: m.ID, Model: m.ID, ModifiedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339Nano), Details: emptyDetails})
			}
		}
	}
	return out, ok
}

// mergeOpenAI builds /v1/models from every engine's contribution, the first
// engine to list a model winning. ok is false when no engine contributed.
func mergeOpenAI(engines []attach.Engine, found []engineModels) (out openAIList, ok bool) {
	out.Object = "list"
	out.Data = []openAIModel{}
	seen := map[string]bool{}
	add := func(m openAIModel) {
		key := tenants.CanonicalModel(m.ID)
		if seen[key] {
			return
		}
		seen[key] = true
		m.Object = "model"
		out.Data = append(out.Data, m)
	}
	for i, e := range engines {
		f := found[i]
		switch {
		case f.err != nil:
			if len(e.Models) > 0 {
				ok = true
			}
			for _, name := range e.Models {
				add(openAIModel{ID: name, Created: unixOrZero(e.UpdatedAt), OwnedBy: e.Name})
			}
		default:
			ok = true
			for _, m := range f.openai {
				add(m)
			}
			for _, m := range f.ollama {
				add(openAIModel{ID: m.Name, Created: unixOrZero(parseTime(m.ModifiedAt)), OwnedBy: ollamaOwner(m.Name)})
			}
		}
	}
	return out, ok
}

// ollamaOwner is the namespace of an Ollama model name, "library" for the
// official ones, as Ollama's own /v1/models says.
func ollamaOwner(name string) string {
	name, _, _ = strings.Cut(name, ":")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		ns := name[:i]
		if j := strings.LastIndexByte(ns, '/'); j >= 0 {
			ns = ns[j+1:]
		}
		return ns
	}
	return "library"
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// unixOrZero is t in Unix seconds, 0 for an unknown time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// formatBytes writes a size for people: 10 MiB, 512 KiB, 100 bytes.
func formatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
