package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/attach-dev/attach-gateway/app"
)

const serveHelp = `Usage: attach serve

Runs the gateway. With no DATABASE_URL it starts and owns a private Postgres
in ATTACH_DATA_DIR (default ./.attach) and stops it on exit. Side-car mode:
OIDC_ISSUER, OIDC_AUD and ENGINE_URL configure the default team served at
the root (/api/chat, /v1/chat/completions, ...). SIGTERM or SIGINT stop it
gracefully: in-flight streams get ATTACH_SHUTDOWN_TIMEOUT to finish.
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
	gw, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		gw.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	printBanner(stdout, cfg, ln.Addr())
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
// call it. Machine-readable logs go to stderr.
func printBanner(w io.Writer, cfg app.Config, addr net.Addr) {
	port := addr.(*net.TCPAddr).Port
	base := fmt.Sprintf("http://localhost:%d", port)
	fmt.Fprintf(w, "Attach Gateway %s listening on %s\n", version, addr)
	fmt.Fprintf(w, "  default team %q at %s/ ; every team at %s/t/TEAM/\n", cfg.DefaultTeam, base, base)
	if cfg.OIDCIssuer == "" {
		fmt.Fprintf(w, "  no OIDC_ISSUER set: mint a gateway API key with the management API (see README)\n")
	}
	if cfg.EngineURL == "" {
		fmt.Fprintf(w, "  no ENGINE_URL set: register an engine with the management API (see README)\n")
	}
	fmt.Fprintf(w, "  try: curl -H \"Authorization: Bearer $TOKEN\" -d '{\"model\":\"tinyllama\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}' %s/api/chat\n", base)
	// Where the token is, never the token: the banner ends up in terminals
	// and logs.
	if from := cfg.AdminTokenSource(); from != "" {
		fmt.Fprintf(w, "  management API: %s/admin/v1/teams with the token in %s\n", base, from)
	} else {
		fmt.Fprintf(w, "  management API: off; set ATTACH_ADMIN_TOKEN to turn it on\n")
	}
}
