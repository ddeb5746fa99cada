// Package app is the composition root: it reads the configuration, starts or
// connects to Postgres, wires stores, verifiers, the proxy and the routes, and
// runs the HTTP server until it is told to stop. It holds the handlers that
// are not the console's or the proxy's: the management API (admin*.go), the
// memory API (memory_api.go), the usage API and the wiring of usage counting
// (usage.go), the token endpoint (oauth*.go), the MCP routes
// (mcp.go, relaying through app/mcp) and the A2A routes (a2a.go).
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/mcp"
	"github.com/attach-dev/attach-gateway/app/proxy"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/deploy/pglocal"
	"github.com/attach-dev/attach-gateway/migrations"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/usage"
	"github.com/attach-dev/attach-gateway/web"
)

// App is one running gateway.
type App struct {
	cfg     Config
	log     *slog.Logger
	pg      *pglocal.Server // nil when DATABASE_URL is set
	pool    *pgxpool.Pool
	store   *tenants.Store
	dir     *tenants.Directory
	verify  *identity.Verifier
	bodies  *web.Bodies
	probe   *prober
	cards   *cardFetcher
	proxy   *proxy.Proxy
	metrics *metrics
	usage   *keyUsage
	ledger  *usage.Ledger
	export  *usage.Exporter // nil unless ATTACH_USAGE_EXPORT_URL is set
	callers *callerCounts
	quotas  *quotaGate
	http    *fiber.App
	console *console.Console
	mem     *memoryBus
	a2a     *a2a.Relay
	mcp     *mcp.Relay
	seed    *a2a.Seed // the seed's task routes, on a durable queue
	// via names this install in the Via header of what it sends.
	via string
	// delegator signs the tokens agents call back with.
	delegator *identity.Delegator
	// exchanger signs the tokens of the token endpoint (oauth.go).
	exchanger *identity.Exchanger

	sessions *sessionNamer

	seedStarted    bool
	stopBackground context.CancelFunc
	background     sync.WaitGroup
	closeOnce      sync.Once

	// serving is the listener Serve was given; stopping is set once
	// Shutdown began, so a Serve that starts after it returns at once.
	serveMu  sync.Mutex
	serving  net.Listener
	stopping bool
}

// New prepares a gateway: Postgres up and migrated, the default team in place,
// every team's configuration loaded. It does not listen yet.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, bodies: web.NewBodies(int64(cfg.BodyMemory))}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()

	dsn := cfg.DatabaseURL
	if dsn == "" {
		if err := a.prepareDataDir(); err != nil {
			return nil, err
		}
		a.pg, err = pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(a.cfg.DataDir, "postgres"), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("start embedded postgres: %w", err)
		}
		dsn = a.pg.DSN()
		log.Info("embedded postgres started", "dir", filepath.Join(a.cfg.DataDir, "postgres"))
	} else if err := CheckDatabase(ctx, dsn); err != nil {
		return nil, err
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	a.pool, err = NewPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := a.pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}

	sealer, err := tenants.NewSealer(a.cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	a.via = viaName(a.cfg.SecretKey)
	a.sessions = newSessionNamer(deriveKey(a.cfg.SecretKey, "attach session id v1"))
	a.store = tenants.NewStore(a.pool, sealer)
	if err := a.ensureDefaultTeam(ctx); err != nil {
		return nil, err
	}
	if a.dir, err = loadDirectory(ctx, a.pool, sealer, log); err != nil {
		return nil, err
	}

	a.metrics = newMetrics()
	policy := networkPolicy(cfg)
	local, err := identity.NewLocalIssuer(cfg.PublicURL+"/console", deriveKey(a.cfg.SecretKey, "attach console tokens v1"))
	if err != nil {
		return nil, err
	}
	if a.delegator, err = identity.NewDelegator(cfg.PublicURL, deriveKey(a.cfg.SecretKey, "attach delegation tokens v1")); err != nil {
		return nil, err
	}
	if a.exchanger, err = identity.NewExchanger(cfg.PublicURL, deriveKey(a.cfg.SecretKey, "attach exchanged tokens v1")); err != nil {
		return nil, err
	}
	a.verify = identity.NewVerifier(identity.Config{
		MinRefresh: cfg.JWKSMinRefresh,
		Logger:     log,
		Local:      local,
		Delegation: a.delegator,
		Exchange:   a.exchanger,
		HTTPClient: issuerPolicy(cfg).HTTPClient(10 * time.Second),
		// A DID-JWT's aud names the team's URL under the gateway's.
		PublicURL: cfg.PublicURL, DefaultTeam: cfg.DefaultTeam,
	})
	if a.mem, err = a.startMemory(ctx); err != nil {
		return nil, err
	}
	a.probe = newProber(policy, newSidecarEngine(cfg, a.dir), a.verify, a.dir)
	a.cards = &cardFetcher{client: policy.HTTPClient(15 * time.Second), dir: a.dir, store: a.store}
	a.quotas = a.newQuotas()
	a.proxy = proxy.New(proxy.Config{
		MaxBodyBytes:          cfg.MaxBodyBytes,
		ResponseHeaderTimeout: cfg.UpstreamTimeout,
		StreamIdleTimeout:     cfg.StreamIdleTimeout,
		Observer:              a.metrics,
		Logger:                log,
		Guard:                 &policy,
		Own:                   newSidecarEngine(cfg, a.dir).Is,
		Via:                   "1.1 " + a.via,
		Tap:                   a.mem.recorder,
		Meter:                 a.startUsage(a.metrics.registry, log), // the ledger, counters, export and quotas
	})
	a.a2a = a.newA2A(&policy)
	a.mcp = a.newMCP(&policy)
	if a.seed, err = a.newSeed(); err != nil {
		return nil, err
	}
	a.console, err = console.New(console.Config{
		PublicURL: cfg.PublicURL,
		OIDC: console.OIDCConfig{
			Issuer:       cfg.ConsoleOIDCIssuer,
			ClientID:     cfg.ConsoleOIDCClientID,
			ClientSecret: cfg.ConsoleOIDCClientSecret,
			LocalSignOut: cfg.ConsoleOIDCLocalSignOut,
			GroupsClaim:  cfg.ConsoleOIDCGroupsClaim,
		},
		CookieKey:     deriveKey(a.cfg.SecretKey, "attach console cookies v1"),
		TeamCreators:  cfg.TeamCreators,
		InstallAdmins: cfg.InstallAdmins,
		DefaultTeam:   cfg.DefaultTeam,
	}, console.Deps{
		Store:  a.store,
		Prober: a.probe,
		Cards:  a.cards,
		Minter: &minter{local: local, store: a.store},
		Memory: a.mem.store,
		Tasks:  consoleTasks{a2a.NewStore(a.pool)},
		// Memory backends a team may choose in the console.
		MemoryBackends: a.mem.sinks.Names(),
		// The memory page says when events wait in the journal.
		Recorder: a.mem.recorder,
		Usage:    a.consoleUsage(),
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	a.usage = newKeyUsage(a.store, log, cfg.KeyUsageInterval)
	a.callers = newCallerCounts(a.store, log, cfg.KeyUsageInterval)
	a.http = a.routes()

	bg, cancel := context.WithCancel(context.Background())
	a.stopBackground = cancel
	a.spawn(func() { a.usage.run(bg) })
	a.spawn(func() { a.callers.run(bg) })
	a.runUsage(bg)
	a.spawn(func() { a.quotas.Run(bg) })
	// Tasks whose client stopped following them (or whose gateway died)
	// are settled with their agents.
	a.spawn(func() { a.a2a.RunReconciler(bg, directoryTeams{a.dir}, 15*time.Second) })
	// The embedded Postgres restarts itself when it dies (pglocal), and
	// recorded exchanges wait in the memory journal meanwhile.
	// One LISTEN session serves the process: the directory follows every
	// team's changes, and the memory worker wakes when rows are added.
	listener := tenants.NewListener(a.pool, log)
	listener.Handle(tenants.NotifyChannel, a.dir.Handler())
	a.mem.listen(listener)
	a.spawn(func() { listener.Run(bg) })
	a.mem.run(bg, log, a.spawn)
	// Seed tasks queued before a restart, or left by a replica that
	// stopped, are picked up from here on.
	if err := a.seed.Start(ctx); err != nil {
		return nil, err
	}
	a.seedStarted = true
	return a, nil
}

// spawn runs f in the background until Close.
func (a *App) spawn(f func()) {
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		f()
	}()
}

// SetupLink returns a one-time link that creates the console's first owner,
// or "" when the install already has users. The link is for the operator's
// terminal, never for the logs.
func (a *App) SetupLink(ctx context.Context) (string, error) {
	n, err := a.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	tok, err := a.store.CreateSetupToken(ctx, 24*time.Hour)
	if err != nil {
		return "", err
	}
	return a.cfg.PublicURL + "/console/setup?token=" + tok, nil
}

// Serve answers requests on ln until Shutdown, which closes ln.
func (a *App) Serve(ln net.Listener) error {
	a.serveMu.Lock()
	if a.stopping {
		a.serveMu.Unlock()
		return ln.Close()
	}
	a.serving = ln
	a.serveMu.Unlock()
	return a.http.Listener(ln)
}

// Shutdown stops accepting connections, lets in-flight requests and streams
// finish, then releases everything New acquired, all before ctx ends. The
// last quarter of ctx's time (at most 10 s) is kept for what must not be cut
// short: storing the recorded exchanges, or journaling them, and stopping
// the embedded Postgres cleanly. A request still running when its share is
// over (an engine that hangs) is left behind, and said so, rather than
// allowed to take that time.
func (a *App) Shutdown(ctx context.Context) error {
	requests := ctx
	if deadline, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(deadline)/4, 10*time.Second)
		var cancel context.CancelFunc
		requests, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	a.serveMu.Lock()
	a.stopping = true
	ln := a.serving
	a.serveMu.Unlock()
	err := a.http.ShutdownWithContext(requests)
	if ln != nil {
		// A Shutdown that comes before the server has taken ln over finds
		// nothing of it to close; closing it here ends Serve either way.
		ln.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Some connection was still busy: a request or stream that did not
		// finish in its share of the grace.
		a.log.Warn("shutdown grace over: requests still running are left unfinished and unrecorded")
	}
	a.Close(ctx)
	return err
}

// Close releases background work, the pool and the embedded Postgres.
func (a *App) Close(ctx context.Context) {
	a.closeOnce.Do(func() {
		// Seed tasks in hand finish, or go back to the queue, while
		// everything they use is still there.
		if a.seedStarted {
			a.seed.Stop(ctx, cmp.Or(a.cfg.SeedStopGrace, 5*time.Second))
		}
		// Exchanges recorded by the last streams reach Postgres before
		// anything they need is stopped.
		if a.mem != nil {
			if err := a.mem.recorder.Close(ctx); err != nil {
				a.log.Error("memory events not stored at shutdown", "err", err)
			}
		}
		if a.stopBackground != nil {
			a.stopBackground()
			a.background.Wait()
		}
		if a.quotas != nil {
			a.quotas.Close(ctx) // unspent leases go back to the window
		}
		if a.proxy != nil {
			a.proxy.Close()
		}
		if a.pool != nil {
			a.pool.Close()
		}
		if a.pg != nil {
			if err := a.pg.Stop(ctx); err != nil {
				a.log.Error("stop embedded postgres", "err", err)
			}
		}
	})
}
