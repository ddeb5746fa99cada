// Command attach-coder runs the demo's coder agent (A2A 1.0): see package
// a2a/examples/coder.
//
//	attach-coder -listen 127.0.0.1:8182 -gateway http://127.0.0.1:8080 [-team SLUG] [-model tiny]
//
// Each flag defaults to its environment variable: ATTACH_AGENT_LISTEN,
// ATTACH_GATEWAY, ATTACH_TEAM, ATTACH_MODEL.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
	"github.com/attach-dev/attach-gateway/a2a/examples/coder"
)

func main() {
	listen := flag.String("listen", env("ATTACH_AGENT_LISTEN", "127.0.0.1:8182"), "address to listen on (loopback by default)")
	gateway := flag.String("gateway", env("ATTACH_GATEWAY", "http://127.0.0.1:8080"), "the gateway's URL")
	team := flag.String("team", env("ATTACH_TEAM", ""), "the team's slug (empty: the gateway's default team)")
	model := flag.String("model", env("ATTACH_MODEL", coder.DefaultModel), "the engine model asked for the code")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach-coder:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("coder listening", "addr", ln.Addr().String(), "gateway", *gateway, "team", *team, "model", *model)
	err = coder.Serve(ctx, ln, coder.Config{
		Gateway: callback.Gateway{URL: *gateway, Team: *team},
		Model:   *model,
		Logger:  log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach-coder:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
