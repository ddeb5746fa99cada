package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/attach-dev/attach-gateway/app"
)

const serveHelp = `Usage: attach serve [--port N] [--data-dir DIR] [--database-url URL]

Runs the gateway. With no DATABASE_URL it starts and owns a private Postgres
in ATTACH_DATA_DIR (default ./.attach) and stops it on exit. Side-car mode:
OIDC_ISSUER, OIDC_AUD and ENGINE_URL configure the default team served at
the root (/api/chat, /v1/chat/completions, ...). SIGTERM or SIGINT stop it
gracefully: in-flight streams get ATTACH_SHUTDOWN_TIMEOUT to finish.

The main variables (README.md, "Configuration", has every one with its
default):
  ATTACH_PORT, PORT           listen port (ATTACH_PORT wins; default 8080)
  ATTACH_HOST                 listen address (default: all interfaces)
  DATABASE_URL                external Postgres; unset: the embedded one
  ATTACH_DATA_DIR             embedded Postgres, secret key, admin token
  ATTACH_SECRET_KEY           required with DATABASE_URL (openssl rand -base64 32)
  ATTACH_ADMIN_TOKEN          bearer token of the management API
  ATTACH_PUBLIC_URL           where clients reach the gateway
  OIDC_ISSUER, OIDC_AUD       side-car: the default team's issuer
  ENGINE_URL, ENGINE_DIALECT  side-car: the default team's engine
  MEM_BACKEND, WEAVIATE_URL   memory store: postgres (default), weaviate, none
  ATTACH_CONSOLE_OIDC_*       console single sign-on
  ATTACH_ALLOW_PRIVATE_NETWORKS  teams' engines and issuers on private addresses
                              (default true; false with DATABASE_URL)
  ATTACH_TEAM_CREATORS        who creates teams in the console: everyone, none,
                              domain:example.com (default everyone; none with DATABASE_URL)
  ATTACH_LOG_LEVEL            debug, info, warn, error

Flags (each wins over its variables):
`

func serve(args []string, stdout, stderr io.Writer) error {
	cfg, err := configure("serve", serveHelp, args, stdout, stderr)
	if err != nil {
		return err
	}
	log, flushLog := app.NewLogger(stderr, cfg.LogLevel, 200*time.Millisecond)
	defer flushLog()

	ctx, stop := signalContext()
	defer stop()
	// Listen first: a port that is taken is said at once, before a
	// Postgres is started or migrated for nothing.
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return listenError(cfg, err)
	}
	gw, err := app.New(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	key, err := gw.FirstStartKey(ctx)
	if err != nil {
		log.Warn("cannot mint the first-start key", "err", err)
	}
	printBanner(stdout, cfg, ln.Addr(), key)
	if link, err := gw.SetupLink(ctx); err != nil {
		log.Warn("cannot make the console setup link", "err", err)
	} else if link != "" {
		fmt.Fprintf(stdout, "  console: no users yet; create the owner at (one use, 24 h):\n    %s\n", link)
	} else {
		fmt.Fprintf(stdout, "  console: %s/console/\n", cfg.PublicURL)
	}

	served := make(chan error, 1)
	go func() { served <- gw.Serve(ln) }()
	select {
	case err = <-served:
		gw.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := gw.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

// printBanner tells a person at a terminal where the gateway is and how to
// call it. Machine-readable logs go to stderr. key is the default team's
// first-start API key, "" after the first start: the banner shows it once.
func printBanner(w io.Writer, cfg app.Config, addr net.Addr, key string) {
	port := addr.(*net.TCPAddr).Port
	base := fmt.Sprintf("http://localhost:%d", port)
	fmt.Fprintf(w, "Attach Gateway %s listening on %s\n", version, addr)
	fmt.Fprintf(w, "  default team %q at %s/ ; every team at %s/t/TEAM/\n", cfg.DefaultTeam, base, base)
	if cfg.EngineURL == "" {
		fmt.Fprintf(w, "  no ENGINE_URL set: register an engine in the console (Engines) or with the management API\n")
	}
	model := "MODEL"
	if len(cfg.EngineModels) > 0 {
		model = cfg.EngineModels[0]
	}
	chat := fmt.Sprintf(`-d '{"model":%q,"messages":[{"role":"user","content":"hello"}]}' %s/api/chat`, model, base)
	bearer := "$ATTACH_KEY"
	if key != "" {
		bearer = key
		fmt.Fprintf(w, "  try it with an API key of team %q, shown this once (revoke it in the console, Keys):\n", cfg.DefaultTeam)
	} else {
		fmt.Fprintf(w, "  try it with an API key of team %q in ATTACH_KEY (console, Keys)", cfg.DefaultTeam)
		if cfg.OIDCIssuer != "" {
			fmt.Fprintf(w, " or a token from %s", cfg.OIDCIssuer)
		}
		fmt.Fprintln(w, ":")
	}
	fmt.Fprintf(w, "    curl -H \"Authorization: Bearer %s\" %s/api/tags\n", bearer, base)
	fmt.Fprintf(w, "    curl -H \"Authorization: Bearer %s\" %s\n", bearer, chat)
	// Where the token is, never the token: the banner ends up in terminals
	// and logs.
	if from := cfg.AdminTokenSource(); from != "" {
		fmt.Fprintf(w, "  management API: %s/admin/v1/teams with the token in %s\n", base, from)
	} else {
		fmt.Fprintf(w, "  management API: off; set ATTACH_ADMIN_TOKEN to turn it on\n")
	}
}

// listenError says which setting to change when the port cannot be had.
func listenError(cfg app.Config, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("port %d is already in use (set --port, ATTACH_PORT or PORT to another, or stop what holds it)", cfg.Port)
	}
	return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
}
