package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Caller is who calls an agent through the gateway, as verified by it.
type Caller struct {
	TeamID, TeamSlug string
	User, Session    string
	// ParentTask is the gateway's id of the task on whose behalf an agent
	// is calling, "" for a call that starts a hand-off.
	ParentTask string
	// Depth is how many agents deep the caller is: 0 for a user, n for an
	// agent calling with a delegation token minted n hops down.
	Depth     int
	RequestID string
}

// TokenMinter signs the delegation token an agent gets for a task: with it
// the agent calls back through the gateway as the caller, one hop deeper.
type TokenMinter interface {
	MintDelegation(c Caller, agent, task string) (string, error)
}

// Memory takes the events the gateway mirrors into a team's memory. It
// must not block: the recorder queues them.
type Memory interface {
	RecordEvents(teamID string, events []attach.Event)
}

// Config is what a Relay needs.
type Config struct {
	Store *Store
	// Client calls the agents. It must dial through the network policy and
	// have no overall timeout (streams last); the Relay sets its own.
	Client *http.Client
	Memory Memory // nil: nothing mirrored
	// Tokens mints delegation tokens; nil sends agents none.
	Tokens TokenMinter
	// MaxDepth bounds how many agents deep a hand-off may go (default 8),
	// so agents calling each other in a loop get an error, not a storm.
	MaxDepth int
	Logger   *slog.Logger
	// CallTimeout bounds a unary call to an agent (a blocking send waits
	// for the task to finish): after it the task is failed.
	CallTimeout time.Duration
	// StreamIdleTimeout bounds the silence between two events of a stream.
	StreamIdleTimeout time.Duration
	// ReadTimeout bounds the agent's answer to a task read or cancel;
	// after it a read is answered from Postgres.
	ReadTimeout time.Duration
	// MaxAnswerBytes bounds one answer or stream event of an agent.
	MaxAnswerBytes int64
	// Via names the gateway in the Via header of its calls to agents, so
	// that a call that comes back to it is refused as a loop.
	Via string
}

// Relay carries A2A JSON-RPC between a client and an agent, each in its
// own protocol version, and records every task it sees.
type Relay struct {
	cfg Config
	log *slog.Logger
}

// NewRelay returns a Relay; zero durations get defaults.
func NewRelay(cfg Config) *Relay {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 2 * time.Minute
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = 2 * time.Minute
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 8
	}
	if cfg.MaxAnswerBytes <= 0 {
		cfg.MaxAnswerBytes = 8 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Relay{cfg: cfg, log: log}
}

// Call is one JSON-RPC request for an agent, as the client sent it.
type Call struct {
	Agent   attach.Agent
	Caller  Caller
	Version string // the client's protocol version
	Method  Method
	Request Request
	// handoff is the gateway's id of the task the call is about, once
	// known: the agent gets it in X-Attach-Task and its delegation token.
	handoff string
	// opened says the hand-off's row and the message sent are recorded
	// already (Store.Open).
	opened bool
}

// agentVersion is the version the gateway speaks to the call's agent.
func (c Call) agentVersion() string { return c.Agent.SpokenVersion() }

// open records a new hand-off while the agent is being called: the
// write overlaps the agent's answer instead of delaying the call. wait
// returns once it is done, and must be called before anything else is
// recorded for the hand-off. A failure is logged, not fatal: the agent's
// answer is recorded then, if it can be.
func (r *Relay) open(ctx context.Context, call Call, msg json.RawMessage) (wait func() (opened bool)) {
	t := r.taskOf(call)
	t.ContextID = refOf(msg).ContextID
	done := make(chan bool, 1)
	go func() {
		err := r.cfg.Store.Open(context.WithoutCancel(ctx), t, msg)
		if err != nil {
			r.log.Error("a2a: hand-off not recorded", "team", call.Caller.TeamID, "agent", call.Agent.Name, "err", err)
		}
		done <- err == nil
	}()
	var opened, waited bool
	return func() bool {
		if !waited {
			opened, waited = <-done, true
		}
		return opened
	}
}

// inputs are the messages a change must add to a task's story: the one
// sent, unless open recorded it already.
func (c Call) inputs(msg json.RawMessage) []json.RawMessage {
	if c.opened || msg == nil {
		return nil
	}
	return []json.RawMessage{msg}
}

// reply answers the client's request with result, in its version.
func (c Call) reply(result json.RawMessage) Response {
	return Response{JSONRPC: "2.0", ID: c.Request.ID, Result: result}
}

// fail answers the client's request with an error.
func (c Call) fail(e *RPCError) Response {
	return Response{JSONRPC: "2.0", ID: c.Request.ID, Error: e}
}

func rpcErr(code int, format string, args ...any) *RPCError {
	return &RPCError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// upstreamError is an agent that could not be reached or did not answer
// in time, or answered something that is not JSON-RPC. Its message is fit
// for the task's failure reason: it never holds a credential.
type upstreamError struct{ reason string }

func (e *upstreamError) Error() string { return e.reason }

// post sends one JSON-RPC request to the agent and returns its HTTP
// response, which the caller closes. accept is the media type wanted.
func (r *Relay) post(ctx context.Context, call Call, method string, params json.RawMessage, accept string) (*http.Response, error) {
	body, err := json.Marshal(Request{JSONRPC: "2.0", ID: call.Request.ID, Method: method, Params: params})
	if err != nil {
		return nil, fmt.Errorf("encode agent request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, agentEndpoint(call.Agent), bytes.NewReader(body))
	if err != nil {
		return nil, &upstreamError{"the agent's URL is not usable"}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", accept)
	if r.cfg.Via != "" {
		h.Set("Via", r.cfg.Via)
	}
	if call.agentVersion() == "1.0" {
		h.Set("A2A-Version", "1.0")
	}
	h.Set("X-Attach-User", call.Caller.User)
	h.Set("X-Attach-Session", call.Caller.Session)
	h.Set("X-Attach-Tenant", call.Caller.TeamSlug)
	if call.handoff != "" {
		h.Set("X-Attach-Task", call.handoff)
		if r.cfg.Tokens != nil {
			tok, err := r.cfg.Tokens.MintDelegation(call.Caller, call.Agent.Name, call.handoff)
			if err != nil {
				return nil, fmt.Errorf("mint delegation token: %w", err)
			}
			h.Set("X-Attach-Token", tok)
		}
	}
	if call.Caller.RequestID != "" {
		h.Set("X-Request-Id", call.Caller.RequestID)
	}
	// The agent's own credential, never the caller's token.
	if call.Agent.Credential != "" {
		h.Set("Authorization", "Bearer "+call.Agent.Credential)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &upstreamError{"the agent did not answer in time"}
		}
		return nil, &upstreamError{"the agent could not be reached: " + dialReason(err)}
	}
	if resp.StatusCode == http.StatusLoopDetected {
		resp.Body.Close()
		return nil, &upstreamError{"the call came back to the gateway: the agent's address is the gateway itself"}
	}
	if resp.StatusCode >= 300 && !isJSON(resp.Header.Get("Content-Type")) && !isSSE(resp.Header.Get("Content-Type")) {
		resp.Body.Close()
		return nil, &upstreamError{fmt.Sprintf("the agent answered HTTP %d", resp.StatusCode)}
	}
	return resp, nil
}

// unary sends a request and reads the agent's JSON-RPC response.
func (r *Relay) unary(ctx context.Context, call Call, method string, params json.RawMessage) (Response, error) {
	resp, err := r.post(ctx, call, method, params, "application/json")
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxAnswerBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, &upstreamError{"the agent did not answer in time"}
		}
		return Response{}, &upstreamError{"the agent's answer broke off: " + dialReason(err)}
	}
	if int64(len(b)) > r.cfg.MaxAnswerBytes {
		return Response{}, &upstreamError{fmt.Sprintf("the agent's answer is over %d bytes", r.cfg.MaxAnswerBytes)}
	}
	if isSSE(resp.Header.Get("Content-Type")) {
		// Some agents answer every method as a stream of one event.
		if ev, ok := firstSSEData(b); ok {
			b = ev
		}
	}
	var out Response
	if err := json.Unmarshal(b, &out); err != nil || (out.Error == nil && len(out.Result) == 0) {
		return Response{}, &upstreamError{"the agent's answer is not JSON-RPC"}
	}
	return out, nil
}

// agentEndpoint is where the agent takes JSON-RPC: the URL its card names
// for the version the gateway speaks to it, else its base URL.
func agentEndpoint(a attach.Agent) string {
	if len(a.Card) > 0 {
		if u := cardEndpoint(a.Card, a.SpokenVersion()); u != "" {
			return u
		}
	}
	return a.BaseURL
}

// cardEndpoint reads the JSON-RPC URL of version v from a card of either
// shape.
func cardEndpoint(card []byte, v string) string {
	var c struct {
		URL                  string `json:"url"`
		PreferredTransport   string `json:"preferredTransport"`
		AdditionalInterfaces []struct {
			URL       string `json:"url"`
			Transport string `json:"transport"`
		} `json:"additionalInterfaces"`
		SupportedInterfaces []struct {
			URL             string `json:"url"`
			ProtocolBinding string `json:"protocolBinding"`
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"supportedInterfaces"`
	}
	if json.Unmarshal(card, &c) != nil {
		return ""
	}
	for _, i := range c.SupportedInterfaces {
		if i.ProtocolBinding == "JSONRPC" && majorMinor(i.ProtocolVersion) == v {
			return i.URL
		}
	}
	if c.URL != "" && (c.PreferredTransport == "" || c.PreferredTransport == "JSONRPC") {
		return c.URL
	}
	for _, i := range c.AdditionalInterfaces {
		if i.Transport == "JSONRPC" {
			return i.URL
		}
	}
	return ""
}

// majorMinor turns "0.3.0" into "0.3" and "1" into "1.0".
func majorMinor(v string) string {
	switch {
	case v == "1" || v == "1.0" || len(v) > 4 && v[:4] == "1.0.":
		return "1.0"
	case v == "0.3" || len(v) > 4 && v[:4] == "0.3.":
		return "0.3"
	}
	return v
}

// ParseVersion reads a request's A2A-Version header: absent is 0.3.
func ParseVersion(h string) (string, bool) {
	if h == "" {
		return "0.3", true
	}
	v := majorMinor(h)
	return v, v == "0.3" || v == "1.0"
}

func isJSON(ct string) bool { return strings.HasPrefix(ct, "application/json") }
func isSSE(ct string) bool  { return strings.HasPrefix(ct, "text/event-stream") }

// dialReason says why a connection failed without the URL (which may hold
// credentials in its user info).
func dialReason(err error) string {
	for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(err) {
		err = inner
	}
	return err.Error()
}
