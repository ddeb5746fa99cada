// Package coder is the demo's coder agent. It speaks A2A 1.0 (JSON-RPC,
// SendMessage, GetTask and CancelTask) with a small server of its own, so
// that a 0.3 agent handing it work through the gateway exercises the
// gateway's translation between the two versions.
//
// Given {"mem_id": ...} (as a data part, or as JSON text), it reads the
// plan stored under that id in the team's memory and asks the team's
// engine to write the code for it, both through the gateway with the
// delegation token the gateway handed it; the engine's answer is the
// task's artifact. Plain text that names no mem_id is taken as the plan.
package coder

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// Config is what the coder needs to run.
type Config struct {
	// Gateway is the team's gateway, through which the coder reads memory
	// and asks the engine.
	Gateway callback.Gateway
	// Model is the engine model asked; default "tiny".
	Model string
	// URL is where the coder is reached, as its card says; default the
	// listener's address.
	URL    string
	Logger *slog.Logger
}

// DefaultModel is the model asked when the configuration names none.
const DefaultModel = "tiny"

// maxTasks bounds the tasks kept for GetTask and CancelTask; the oldest
// go first. The gateway keeps every task durably: these are the agent's.
const maxTasks = 1000

// Serve runs the coder on ln until ctx ends, then shuts it down.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.URL == "" {
		cfg.URL = "http://" + ln.Addr().String()
	}
	if err := callback.Serve(ctx, ln, NewHandler(cfg)); err != nil {
		return fmt.Errorf("coder: serve: %w", err)
	}
	return nil
}

// NewHandler is the coder's HTTP handler: its card at
// /.well-known/agent-card.json and JSON-RPC at /.
func NewHandler(cfg Config) http.Handler {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &server{cfg: cfg, tasks: newTaskList(maxTasks)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/agent-card.json", s.card)
	mux.HandleFunc("POST /{$}", s.rpc)
	return mux
}
