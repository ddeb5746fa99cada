// Command attach-planner runs the demo's planner agent (A2A 0.3, on the
// a2a-go SDK): see package a2a/examples/planner.
//
//	attach-planner -listen 127.0.0.1:8181 -gateway http://127.0.0.1:8080 [-team SLUG] [-coder coder]
//
// Each flag defaults to its environment variable: ATTACH_AGENT_LISTEN,
// ATTACH_GATEWAY, ATTACH_TEAM, ATTACH_CODER.
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
	"github.com/attach-dev/attach-gateway/a2a/examples/planner"
)

func main() {
	listen := flag.String("listen", env("ATTACH_AGENT_LISTEN", "127.0.0.1:8181"), "address to listen on (loopback by default)")
	gateway := flag.String("gateway", env("ATTACH_GATEWAY", "http://127.0.0.1:8080"), "the gateway's URL")
	team := flag.String("team", env("ATTACH_TEAM", ""), "the team's slug (empty: the gateway's default team)")
	coder := flag.String("coder", env("ATTACH_CODER", planner.DefaultCoder), "the team's agent that writes the code")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach-planner:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("planner listening", "addr", ln.Addr().String(), "gateway", *gateway, "team", *team, "coder", *coder)
	err = planner.Serve(ctx, ln, planner.Config{
		Gateway: callback.Gateway{URL: *gateway, Team: *team},
		Coder:   *coder,
		Logger:  log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach-planner:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
