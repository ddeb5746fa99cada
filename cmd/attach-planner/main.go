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
	"log/slog"
	"net"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
	"github.com/attach-dev/attach-gateway/a2a/examples/planner"
)

func main() {
	coder := flag.String("coder", callback.Env("ATTACH_CODER", planner.DefaultCoder), "the team's agent that writes the code")
	callback.Command{Name: "planner", DefaultListen: "127.0.0.1:8181",
		Serve: func(ctx context.Context, ln net.Listener, gw callback.Gateway, log *slog.Logger) error {
			return planner.Serve(ctx, ln, planner.Config{Gateway: gw, Coder: *coder, Logger: log})
		}}.Main()
}
