// Package planner is the demo's planner agent, built on the a2a-go SDK and
// speaking A2A 0.3. Given a goal ("build a hello world") it writes a short
// plan, stores it in the team's memory as a note, and hands the coder agent
// {"mem_id": ...} through the gateway; the coder's answer is its own
// artifact. Every call back goes through the gateway with the delegation
// token the gateway handed the planner, so the coder's task is recorded as
// the child of the planner's and everything is done as the same user.
package planner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2asrv"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// Config is what the planner needs to run.
type Config struct {
	// Gateway is the team's gateway, through which the planner stores its
	// plan and reaches the coder.
	Gateway callback.Gateway
	// Coder is the team's agent the plan is handed to; default "coder".
	Coder string
	// URL is where the planner is reached, as its card says; default the
	// listener's address.
	URL    string
	Logger *slog.Logger
}

// DefaultCoder is the agent the plan goes to when the configuration names
// none.
const DefaultCoder = "coder"

// cardPath is where A2A clients look for the agent's card.
const cardPath = "/.well-known/agent-card.json"

// Serve runs the planner on ln until ctx ends, then shuts it down.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.URL == "" {
		cfg.URL = "http://" + ln.Addr().String()
	}
	if err := callback.Serve(ctx, ln, NewHandler(cfg)); err != nil {
		return fmt.Errorf("planner: serve: %w", err)
	}
	return nil
}

// NewHandler is the planner's HTTP handler: its card at
// /.well-known/agent-card.json and JSON-RPC 0.3 at every other path.
func NewHandler(cfg Config) http.Handler {
	if cfg.Coder == "" {
		cfg.Coder = DefaultCoder
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	card := agentCard(cfg.URL)
	rpc := a2asrv.NewJSONRPCHandler(a2asrv.NewHandler(&executor{cfg: cfg}))
	mux := http.NewServeMux()
	mux.Handle("GET "+cardPath, a2asrv.NewStaticAgentCardHandler(card))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The SDK hands its executor only what the call context carries:
		// without this the gateway's X-Attach-* headers, the delegation
		// token among them, would not reach it.
		ctx, _ := a2asrv.WithCallContext(r.Context(), a2asrv.NewRequestMeta(r.Header))
		rpc.ServeHTTP(w, r.WithContext(ctx))
	})
	return mux
}

func agentCard(url string) *a2a.AgentCard {
	return &a2a.AgentCard{
		Name:               "attach planner",
		Description:        "Writes a plan for a goal, stores it in the team's memory and hands it to the coder agent.",
		URL:                url,
		PreferredTransport: a2a.TransportProtocolJSONRPC,
		ProtocolVersion:    "0.3.0",
		Version:            "1.0.0",
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []a2a.AgentSkill{{
			ID:          "plan",
			Name:        "Plan and hand off",
			Description: "Plans the goal, stores the plan in memory and has the coder write it.",
			Tags:        []string{"demo", "plan"},
			Examples:    []string{"build a hello world"},
		}},
	}
}
