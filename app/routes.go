package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/migrations"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/web"
)

func (a *App) routes() *fiber.App {
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		AppName:               "attach-gateway",
		BodyLimit:             a.cfg.MaxBodyBytes,
		// Bodies are read by handlers once they know the caller (Bodies).
		StreamRequestBody: true,
		ReadBufferSize:    a.cfg.MaxHeaderBytes,
		ReadTimeout:       60 * time.Second, // a slow client cannot hold a connection forever
		IdleTimeout:       120 * time.Second,
		ErrorHandler:      a.errorHandler,
		// Forwarded headers are believed only from the proxies named in
		// ATTACH_TRUSTED_PROXIES; by default from nobody.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          a.cfg.TrustedProxies,
	})
	f.Use(a.bodies.Track, a.observe, a.refuseLoops, stripAttachHeaders)

	// A page at / that says what this server is and how to call it.
	// Two instances: the middleware remembers the prefix it was mounted at.
	assets := filesystem.Config{Root: http.FS(web.Static()), MaxAge: 3600}
	f.Get("/", filesystem.New(assets))
	f.Use("/static", filesystem.New(assets))
	f.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	f.Get("/readyz", a.ready)
	f.Get("/metrics", a.metrics.handler())

	a.adminRoutes(f.Group("/admin/v1", a.requireAdmin, a.readBody(maxAdminBody)))
	// The console reads forms before it knows who is signing in: small
	// ones only.
	a.console.Mount(f.Group("/console", a.readBody(maxConsoleBody)))

	// The engine routes (Ollama /api/..., OpenAI /v1/...) are served at the
	// root for the default team and under /t/{team} for every team. Nothing
	// else of the gateway lives under /api or /v1, so they never collide with
	// the management API (/admin/v1) or the operational endpoints.
	for _, r := range dialect.Routes() {
		f.Add(r.Method, r.Path, a.engine(r.Path, false))
		f.Add(r.Method, "/t/:team"+r.Path, a.engine(r.Path, true))
	}

	for _, r := range memoryRoutes {
		f.Add(r.method, r.path, a.memoryHandler(r.handler(a.mem.api), false))
		f.Add(r.method, "/t/:team"+r.path, a.memoryHandler(r.handler(a.mem.api), true))
	}

	a.oauthRoutes(f)
	a.seedRoutes(f)
	a.a2aRoutes(f)
	a.mcpRoutes(f)
	a.usageRoutes(f)

	f.Use(func(c *fiber.Ctx) error {
		return attach.Errorf(attach.CodeNotFound, "no route for %s %s", c.Method(), c.Path())
	})
	return f
}

// Body limits of the routes that do not take engine requests.
const (
	maxAdminBody   = 1 << 20
	maxConsoleBody = 64 << 10
)

// readBody reads the request's body, up to limit bytes, before the routes
// after it run.
func (a *App) readBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := a.bodies.Read(c, limit); err != nil {
			return err
		}
		return c.Next()
	}
}

// ready answers 200 only when this replica can serve: Postgres reachable,
// every migration applied, team configuration loaded.
func (a *App) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	notReady := func(msg string) error {
		return &attach.Error{Code: attach.CodeUnavailable, Reason: "not_ready", Message: msg}
	}
	if a.pg != nil && !a.pg.Up() {
		return notReady(fmt.Sprintf("embedded postgres is restarting (restarts so far: %d; %d bytes of memory events journaled)", a.pg.Restarts(), a.mem.recorder.Journaled()))
	}
	if err := a.pool.Ping(ctx); err != nil {
		return notReady(fmt.Sprintf("postgres is not reachable (%d bytes of memory events journaled, replayed when it is back)", a.mem.recorder.Journaled()))
	}
	pending, err := migrations.Pending(ctx, a.pool)
	if err != nil {
		return notReady("cannot read migration state")
	}
	if pending > 0 {
		return notReady("migrations pending")
	}
	if !a.dir.Ready() {
		return notReady("team configuration not loaded")
	}
	journaled := a.mem.recorder.Journaled()
	if a.cfg.MemOnFull == memory.OnFullRefuse && a.mem.recorder.Full() {
		return notReady(fmt.Sprintf("memory recorder full (%d bytes journaled): new chat requests are refused", journaled))
	}
	return c.JSON(fiber.Map{"status": "ready", "memory": fiber.Map{"journaled_bytes": journaled}})
}

// errorHandler answers every error a handler or middleware returns, and
// Fiber's own (body too large, unknown method), in the gateway's JSON
// shape. A failure of ours is logged with its cause, which the client never
// sees.
func (a *App) errorHandler(c *fiber.Ctx, err error) error {
	if web.Status(err) == fiber.StatusInternalServerError {
		a.log.Error("request failed", "request_id", requestID(c), "path", c.Path(), "err", err)
	}
	return web.WriteError(c, err)
}
