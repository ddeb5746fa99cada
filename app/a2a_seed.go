package app

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/app/proxy"
	"github.com/attach-dev/attach-gateway/web"
)

// newSeed makes the queue behind the seed's task routes. Its jobs run in
// this process, on the gateway's own proxy and relay.
func (a *App) newSeed() (*a2a.Seed, error) {
	return a2a.NewSeed(a2a.SeedConfig{
		Pool:      a.pool,
		Relay:     a.a2a,
		Engines:   seedPorts{a},
		Agents:    seedPorts{a},
		Logger:    a.log,
		RetryBase: a.cfg.SeedRetryBase,
		// A try outlives the engine's own timeouts, so that an engine
		// that is merely slow is not tried twice.
		JobTimeout: max(10*time.Minute, 2*(a.cfg.UpstreamTimeout+a.cfg.StreamIdleTimeout)),
	})
}

// seedRoutes serves the seed's task routes: /a2a/tasks/... for the default
// team, /t/{team}/a2a/tasks/... for every team. They are registered
// before the agents' /a2a/:agent routes; "tasks" is a name no agent may
// take.
func (a *App) seedRoutes(f *fiber.App) {
	for _, byParam := range []bool{false, true} {
		prefix := "/a2a/tasks"
		if byParam {
			prefix = "/t/:team/a2a/tasks"
		}
		f.Post(prefix+"/send", a.seedSend(byParam))
		f.Get(prefix+"/status/:id", a.seedStatus(byParam))
	}
}

// seedSend queues a task for one of the team's engines or agents and
// answers at once with its id.
func (a *App) seedSend(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, session, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		if err := a.bodies.Read(c, a.cfg.MaxBodyBytes); err != nil {
			return err
		}
		var req struct {
			Input     json.RawMessage `json:"input"`
			TargetURL *string         `json:"target_url"`
		}
		body := bytes.TrimSpace(c.Body())
		if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &req) != nil {
			return attach.Errorf(attach.CodeInvalidJSON, `the body must be a JSON object {"input": {...}, "target_url": "..."}`)
		}
		if len(req.Input) == 0 || string(req.Input) == "null" {
			return attach.Invalid("input", "is required")
		}
		raw := ""
		if req.TargetURL != nil {
			raw = *req.TargetURL
		}
		target, err := a2a.ResolveTarget(raw, a2a.SeedScope{
			PublicURL: a.cfg.PublicURL, TeamSlug: team.Team.Slug, DefaultTeam: team.Team.Slug == a.cfg.DefaultTeam,
			HasAgent: func(name string) bool { _, ok := team.Agent(name); return ok },
		})
		if err != nil {
			return err
		}
		if target.Kind == a2a.TargetEngine && len(team.Engines) == 0 {
			return attach.Invalid("target_url", "the team has no engine")
		}
		id, err := a.seed.Send(c.UserContext(), a2a.SeedRequest{
			Caller: a2a.Caller{TeamID: team.Team.ID, TeamSlug: team.Team.Slug, User: p.Subject, Session: session,
				ParentTask: p.Task, Depth: p.Depth, RequestID: requestID(c)},
			Target: target,
			// The body's buffer is reused after the handler: the job
			// keeps its own copy.
			Input: bytes.Clone(req.Input),
		})
		if err != nil {
			return err
		}
		c.Set("X-Attach-Session-Id", session)
		return c.JSON(fiber.Map{"task_id": id, "state": a2a.SeedQueued})
	}
}

// seedStatus answers a task of the caller's; any other id is 404.
func (a *App) seedStatus(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, _, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		st, err := a.seed.Status(c.UserContext(), team.Team.ID, p.Subject, c.Params("id"))
		if err != nil {
			return err
		}
		if len(st.Result) == 0 {
			st.Result = json.RawMessage("null")
		}
		return c.JSON(st)
	}
}

// seedPorts are what the seed's jobs use of the gateway: its proxy (for
// engines) and its directory (for agents).
type seedPorts struct{ a *App }

// TeamAgent finds the team's agent as it is registered now.
func (s seedPorts) TeamAgent(teamID, name string) (attach.Agent, bool) {
	team, ok := s.a.dir.TeamByID(teamID)
	if !ok {
		return attach.Agent{}, false
	}
	return team.Agent(name)
}

// CallEngine runs one request through the proxy as a client's request on
// route would run: same engine choice, identity headers, limits, errors
// and memory. It returns when the answer is in, or when ctx ends (the
// request then finishes in the background, unread).
func (s seedPorts) CallEngine(ctx context.Context, caller a2a.Caller, route string, body []byte) (int, []byte, error) {
	team, ok := s.a.dir.TeamByID(caller.TeamID)
	if !ok {
		return fiber.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"the team no longer exists"}}`), nil
	}
	type answer struct {
		status int
		body   []byte
	}
	done := make(chan answer, 1)
	go func() {
		var fctx fasthttp.RequestCtx
		fctx.Request.Header.SetMethod(fiber.MethodPost)
		fctx.Request.SetRequestURI(route)
		fctx.Request.Header.SetContentType(fiber.MIMEApplicationJSON)
		fctx.Request.SetBody(body)
		c := s.a.http.AcquireCtx(&fctx)
		defer s.a.http.ReleaseCtx(c)
		c.SetUserContext(context.WithoutCancel(ctx))
		c.Locals(localRequestID, caller.RequestID)
		id := proxy.Identity{User: caller.User, Session: caller.Session, Tenant: team.Team.Slug}
		if err := s.a.proxy.Serve(c, team, route, id); err != nil {
			_ = web.WriteError(c, err)
		}
		// Body reads a streamed answer to its end.
		done <- answer{fctx.Response.StatusCode(), bytes.Clone(fctx.Response.Body())}
	}()
	select {
	case r := <-done:
		return r.status, r.body, nil
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}
