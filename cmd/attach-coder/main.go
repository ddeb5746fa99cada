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
	"log/slog"
	"net"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
	"github.com/attach-dev/attach-gateway/a2a/examples/coder"
)

func main() {
	model := flag.String("model", callback.Env("ATTACH_MODEL", coder.DefaultModel), "the engine model asked for the code")
	callback.Command{Name: "coder", DefaultListen: "127.0.0.1:8182",
		Serve: func(ctx context.Context, ln net.Listener, gw callback.Gateway, log *slog.Logger) error {
			return coder.Serve(ctx, ln, coder.Config{Gateway: gw, Model: *model, Logger: log})
		}}.Main()
}
