package mcp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Memory takes the tool calls the relay records. It must not block: the
// gateway's recorder queues them.
type Memory interface {
	RecordEvents(teamID string, events []attach.Event)
}

// Config is what a Relay needs.
type Config struct {
	// Client calls the servers. It must not follow redirects (they would
	// carry the server's credential elsewhere) and should dial through
	// the gateway's network policy; it needs no overall timeout, since
	// streams last as long as the server keeps them open.
	Client *http.Client
	Memory Memory // nil: nothing recorded
	Logger *slog.Logger
	// Via is this gateway's entry in the Via header, "1.1 NAME".
	Via string
	// MaxAnswerBytes bounds a JSON answer and each SSE event (default
	// 16 MiB).
	MaxAnswerBytes int
	// KeepAlive is how long a stream may be quiet before the relay writes
	// an SSE comment to the client, which finds a client that left
	// (default 20 s).
	KeepAlive time.Duration
}

// Relay calls a team's MCP servers for its clients.
type Relay struct {
	cfg Config
}

// NewRelay makes a relay.
func NewRelay(cfg Config) *Relay {
	if cfg.MaxAnswerBytes <= 0 {
		cfg.MaxAnswerBytes = 16 << 20
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Relay{cfg: cfg}
}

// Caller is who the gateway verified, as the server is told.
type Caller struct {
	TeamID, TeamSlug string
	User, Session    string
	RequestID        string
}

// Call is one HTTP request of the transport: POST a message, GET the
// server's stream, DELETE the session.
type Call struct {
	Server attach.MCPServer
	Caller Caller
	Method string
	// Header is the client's request headers; only the transport's are
	// passed on.
	Header http.Header
	Body   []byte
}

// Answer is the server's answer as the client gets it: its status, the
// headers that are passed on, and the body to Copy.
type Answer struct {
	Status int
	Header http.Header
	// Stream says the body is an SSE stream, passed on event by event.
	Stream bool
	resp   *http.Response
	call   Call
	calls  []ToolCall
	cancel context.CancelFunc
}

// Close releases the server's answer; Copy does it too.
func (a *Answer) Close() {
	if a.resp != nil {
		a.resp.Body.Close()
	}
	a.cancel()
}

// Upstream refusal reasons (attach.Error Reason), for the client and the
// metrics.
const (
	ReasonCredentialRefused = "mcp_credential_refused"
	ReasonUnreachable       = "mcp_server_unreachable"
)

// Open sends the call to its server and returns the server's answer, whose
// body the caller passes on with Copy. The request outlives ctx's
// cancellation only as long as ctx does: for a stream, give a context that
// lasts as long as the client is there.
//
// A server that refuses the gateway's credential (401, 403) is a 502 with
// reason mcp_credential_refused, never the server's own challenge, which
// would send the client to sign in at the wrong place.
func (r *Relay) Open(ctx context.Context, call Call) (*Answer, error) {
	ctx, cancel := context.WithCancel(ctx)
	var body io.Reader
	if call.Method == http.MethodPost {
		body = bytes.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, call.Server.URL, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("mcp: build request to %s: %w", call.Server.Name, err)
	}
	copyHeaders(req.Header, call.Header, requestHeaders)
	if r.cfg.Via != "" {
		req.Header.Add("Via", r.cfg.Via)
	}
	if call.Server.Credential != "" {
		req.Header.Set("Authorization", "Bearer "+call.Server.Credential)
	}
	setIdentity(req.Header, call.Caller)
	if call.Caller.RequestID != "" {
		req.Header.Set("X-Request-Id", call.Caller.RequestID)
	}

	var calls []ToolCall
	if call.Method == http.MethodPost {
		calls = ParseToolCalls(call.Body)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		cancel()
		r.recordFailed(call, calls, "the MCP server could not be reached")
		return nil, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: ReasonUnreachable,
			Message: "the MCP server " + strconv.Quote(call.Server.Name) + " could not be reached: " + plainError(err)}
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		resp.Body.Close()
		cancel()
		r.recordFailed(call, calls, "the MCP server refused the gateway's credential (HTTP "+strconv.Itoa(resp.StatusCode)+")")
		what := "has no credential for it"
		if call.Server.Credential != "" {
			what = "sent the server's credential"
		}
		return nil, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: ReasonCredentialRefused,
			Message: fmt.Sprintf("the MCP server %q answered %d to the gateway, which %s: the team's admin should check the credential registered for this server",
				call.Server.Name, resp.StatusCode, what)}
	}
	a := &Answer{Status: resp.StatusCode, Header: http.Header{}, resp: resp, call: call, calls: calls, cancel: cancel}
	copyHeaders(a.Header, resp.Header, responseHeaders)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	a.Stream = mt == "text/event-stream"
	return a, nil
}

// setIdentity names the caller to the server.
func setIdentity(h http.Header, c Caller) {
	if c.User != "" {
		h.Set(HeaderUser, c.User)
	}
	if c.Session != "" {
		h.Set(HeaderSession, c.Session)
	}
	if c.TeamSlug != "" {
		h.Set(HeaderTenant, c.TeamSlug)
	}
}

// plainError says why a connection failed without Go's wrapping, which
// names the whole URL.
func plainError(err error) string {
	var uerr interface{ Unwrap() error }
	if errors.As(err, &uerr) {
		if inner := uerr.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// ReadAll reads a whole (not streamed) answer, at most the relay's limit,
// records the tool calls it answers, and closes it.
func (r *Relay) ReadAll(a *Answer) ([]byte, error) {
	defer a.Close()
	b, err := io.ReadAll(io.LimitReader(a.resp.Body, int64(r.cfg.MaxAnswerBytes)+1))
	if err == nil && len(b) > r.cfg.MaxAnswerBytes {
		err = fmt.Errorf("the answer is over %d bytes", r.cfg.MaxAnswerBytes)
	}
	if err != nil {
		r.recordFailed(a.call, a.calls, "the MCP server's answer could not be read")
		return nil, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: ReasonUnreachable,
			Message: "the MCP server " + strconv.Quote(a.call.Server.Name) + " answered badly: " + plainError(err)}
	}
	pending := newPending(a.calls)
	if a.Status >= 200 && a.Status < 300 {
		r.record(a.call, pending.match(ParseReplies(b)))
	}
	r.recordFailed(a.call, pending.rest(), "the MCP server answered HTTP "+strconv.Itoa(a.Status)+" without a result")
	return b, nil
}

// Copy passes a streamed answer on to w event by event, calling flush
// after each, and records the tool calls the events answer. Quiet
// stretches get an SSE comment, so a client that left is noticed. It
// returns when the server ends the stream, the client leaves (a write or
// flush fails) or an event is over the limit; then it closes the answer.
func (r *Relay) Copy(a *Answer, w io.Writer, flush func() error) error {
	defer a.Close()
	pending := newPending(a.calls)
	defer func() {
		r.recordFailed(a.call, pending.rest(), "the stream ended before the MCP server answered")
	}()

	type read struct {
		ev  sseEvent
		err error
	}
	events := make(chan read)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		rd := bufio.NewReaderSize(a.resp.Body, 32<<10)
		for {
			ev, err := readEvent(rd, r.cfg.MaxAnswerBytes)
			select {
			case events <- read{ev, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	idle := time.NewTimer(r.cfg.KeepAlive)
	defer idle.Stop()
	for {
		select {
		case <-idle.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return err
			}
			if err := flush(); err != nil {
				return err
			}
			idle.Reset(r.cfg.KeepAlive)
		case got := <-events:
			if len(got.ev.raw) > 0 {
				if _, err := w.Write(got.ev.raw); err != nil {
					return err
				}
				if err := flush(); err != nil {
					return err
				}
				if len(got.ev.data) > 0 {
					r.record(a.call, pending.match(ParseReplies(got.ev.data)))
				}
			}
			if got.err != nil {
				if errors.Is(got.err, io.EOF) {
					return nil
				}
				if errors.Is(got.err, errEventTooLarge) {
					r.cfg.Logger.Warn("mcp stream cut: event over the limit", "request_id", a.call.Caller.RequestID,
						"team", a.call.Caller.TeamSlug, "server", a.call.Server.Name)
				}
				return got.err
			}
			idle.Reset(r.cfg.KeepAlive)
		}
	}
}

// IsEventStream reports whether a content type is an SSE stream.
func IsEventStream(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.EqualFold(mt, "text/event-stream")
}
