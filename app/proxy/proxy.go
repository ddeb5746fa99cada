// Package proxy forwards model traffic that the gateway has already allowed
// to the team's engines: it picks the engine from the request's model,
// stamps the caller's identity on the upstream request and passes the answer
// back, streamed chunk by chunk when the engine streams.
//
// Any client reaches any engine. OpenAI routes go to engines of both
// dialects as they are (Ollama serves them). An Ollama chat, generate or
// embedding request for an engine that speaks only the OpenAI API is
// translated (package dialect says how): the engine gets the OpenAI request,
// and its answer is turned back into Ollama's, a stream event by event as
// it arrives. The memory tap records such an exchange as the engine saw it.
package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
	"github.com/attach-dev/attach-gateway/web"
)

// Config tunes the proxy. Zero values take the defaults below.
type Config struct {
	MaxBodyBytes          int              // default 10 MiB; larger -> 413 (the server also limits)
	DialTimeout           time.Duration    // default 5s
	ResponseHeaderTimeout time.Duration    // time to first response byte from the engine, default 120s -> 504
	StreamIdleTimeout     time.Duration    // max gap between chunks of a stream, default 120s
	Observer              Observer         // may be nil
	Tap                   Tap              // may be nil: nothing is mirrored
	Meter                 Meter            // may be nil: nothing is counted
	Guard                 *netguard.Policy // addresses engines may have; nil allows any
	TapLimit              int              // bytes of one answer kept for the tap, default 4 MiB
	// Own says whether an engine is the operator's own (the side-car
	// engine named in the environment). Such an engine is dialed with
	// private addresses allowed even when Guard refuses them to teams;
	// link-local ones stay refused. Nil: no engine is.
	Own func(attach.Engine) bool
	// Via names this install in the Via header of every request it sends
	// (RFC 9110), so that a request that comes back to it is refused as
	// a loop (see LoopCheck).
	Via    string
	Logger *slog.Logger
}

const (
	defaultMaxBodyBytes = 10 << 20
	defaultDialTimeout  = 5 * time.Second
	defaultHeaderWait   = 120 * time.Second
	defaultIdleWait     = 120 * time.Second
)

// Observer is told about each upstream call (the server turns this into
// Prometheus metrics). d runs from sending the request to the arrival of the
// engine's response headers.
type Observer interface {
	ObserveUpstream(engine, route string, status int, d time.Duration)
}

// Identity is what the gateway stamps on the upstream request, and whom
// the exchange's usage is counted for (KeyID and Agent are not sent on).
type Identity struct {
	User, Session, Tenant string
	KeyID, Agent          string
}

// Meter is told the usage of every finished chat, completion and embedding
// exchange. Measure is called after the client has its answer and must
// return quickly.
type Meter interface {
	Measure(u attach.Usage)
}

// Proxy forwards requests to engines. It is safe for concurrent use.
type Proxy struct {
	cfg    Config
	log    *slog.Logger
	client *fasthttp.Client
	own    *fasthttp.Client // for the engines Config.Own names
	dialer *dialer
	bufs   sync.Pool // *[]byte of copyBufSize
}

// copyBufSize is the read size for answers: large enough for a burst of
// tokens, small enough that a chunk is passed on as soon as it arrives.
const copyBufSize = 32 << 10

// New builds a Proxy. Close releases its idle engine connections.
func New(cfg Config) *Proxy {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = defaultHeaderWait
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = defaultIdleWait
	}
	if cfg.TapLimit <= 0 {
		cfg.TapLimit = defaultTapLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := newDialer(cfg.Guard, cfg.DialTimeout, cfg.ResponseHeaderTimeout, cfg.StreamIdleTimeout)
	p := &Proxy{cfg: cfg, log: cfg.Logger, dialer: d}
	p.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	p.client = newClient(cfg, d, d.dial)
	// The same settings and connection bookkeeping, through the dialer
	// that admits private addresses.
	p.own = newClient(cfg, d, d.dialOwn)
	return p
}

// newClient is a client to engines that connects through dial.
func newClient(cfg Config, d *dialer, dial fasthttp.DialFunc) *fasthttp.Client {
	return &fasthttp.Client{
		Dial:               dial,
		StreamResponseBody: true,
		// Engines hold a connection per running generation; many streams
		// at once are normal.
		MaxConnsPerHost:     4096,
		MaxIdleConnDuration: 30 * time.Second,
		ReadBufferSize:      16 << 10,
		WriteBufferSize:     16 << 10,
		// The request body is sent as it came (no 10 MiB write may hang
		// forever on an engine that stopped reading).
		WriteTimeout:              cfg.ResponseHeaderTimeout,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		MaxIdemponentCallAttempts: 2,
		RetryIfErr:                d.retryStale,
	}
}

// clientFor is the client that may reach engine e.
func (p *Proxy) clientFor(e attach.Engine) *fasthttp.Client {
	if p.cfg.Own != nil && p.cfg.Own(e) {
		return p.own
	}
	return p.client
}

// Close drops the idle connections to engines. Streams in flight finish.
func (p *Proxy) Close() {
	p.client.CloseIdleConnections()
	p.own.CloseIdleConnections()
}

// retryStale resends a request once when a kept-alive connection turned out
// to be closed by the engine before it answered: the engine never saw it.
// Timeouts and refused connections are not retried: doing so would only
// double the wait; nor is a request whose client has left.
func (d *dialer) retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts > 1 || d.clientLeft(req) {
		return false, false
	}
	var de *dialError
	if errors.As(err, &de) || isTimeout(err) {
		return false, false
	}
	// net.ErrClosed: an idle connection closed by a client's departure
	// just as its answer came in (see pending.leave).
	stale := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
	return false, stale
}

// Serve proxies the request in c (path like "/api/chat" or
// "/v1/chat/completions", already stripped of any /t/{team} prefix) to the
// team's engine.
func (p *Proxy) Serve(c *fiber.Ctx, team *tenants.Snapshot, path string, id Identity) error {
	c.Set(headerSessionID, id.Session)
	r, ok := dialect.Lookup(path)
	if !ok {
		return attach.Errorf(attach.CodeNotFound, "no engine route %s", path)
	}
	if c.Method() != r.Method {
		c.Set(fiber.HeaderAllow, r.Method)
		return attach.Errorf(attach.CodeMethodNotAllowed, "%s accepts %s only", path, r.Method)
	}
	switch r.Kind {
	case dialect.List:
		return p.serveList(c, team, r)
	case dialect.Version:
		e, ok := defaultOllama(team)
		if !ok {
			return attach.Errorf(attach.CodeNoEngine, "team %s has no Ollama engine", team.Team.Slug)
		}
		return p.forward(c, team, r, e, nil, id, nil, nil, nil)
	}

	body := c.Request().Body()
	if len(body) > p.cfg.MaxBodyBytes {
		return attach.Errorf(attach.CodeTooLarge, "request body is larger than %s", web.FormatBytes(p.cfg.MaxBodyBytes))
	}
	if enc := c.Request().Header.ContentEncoding(); len(enc) > 0 && string(enc) != "identity" {
		// Engines read plain JSON (Ollama does not decode request bodies),
		// and decoding here would open the door to decompression bombs.
		return attach.Errorf(attach.CodeUnsupportedEncoding, "request bodies must not be compressed (Content-Encoding %s)", enc)
	}
	model, err := r.Model(body)
	if err != nil {
		return attach.Errorf(attach.CodeInvalidJSON, "%s", err)
	}
	e, ok := team.Engine(model)
	if !ok {
		return noEngineFor(team, model)
	}
	// An Ollama request for an engine that speaks only the OpenAI API is
	// sent as the OpenAI request that does the same: from here on r and
	// body are what the engine gets, and tr turns its answer back.
	var tr *dialect.Translation
	switch {
	case r.Translates(e.Dialect):
		if tr, err = translateRequest(r, body); err != nil {
			return err
		}
		r, body = tr.Engine, tr.Body
	case !r.Accepts(e.Dialect):
		return attach.Errorf(attach.CodeDialectMismatch, "engine %s speaks the OpenAI API; use %s instead of %s", e.Name, r.OpenAIPath, r.Path)
	}
	tap := p.startCapture(r, team.Team.ID, id, e.Name, model, body)
	if tap != nil {
		if err := p.cfg.Tap.Admit(team.Team.ID); err != nil {
			return err
		}
	}
	m := p.startMetering(r, team.Team.ID, id, e.Name, model, body)
	return p.forward(c, team, r, e, m.request(body), id, tap, tr, m)
}

// defaultOllama is the team's default engine when it speaks Ollama, else its
// first Ollama engine.
func defaultOllama(team *tenants.Snapshot) (attach.Engine, bool) {
	if e, ok := team.DefaultEngine(); ok && e.Dialect == attach.DialectOllama {
		return e, true
	}
	for _, e := range team.Engines {
		if e.Dialect == attach.DialectOllama {
			return e, true
		}
	}
	return attach.Engine{}, false
}
