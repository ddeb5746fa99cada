package main

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// upstream is the stand-in engine: a fasthttp server that answers
// POST /api/chat with one small, fixed, non-streamed Ollama reply. It runs in
// the bench process: during a load run that process does nothing else (wrk
// is its own process and the issuer is idle once the gateway cached its
// keys), so a separate process would only add start-up code, not accuracy.
type upstream struct {
	ln  net.Listener
	srv *fasthttp.Server
	url string

	// probing turns on recording of identity headers. It stays off during
	// load so the stand-in does the same work for every target.
	probing atomic.Bool
	mu      sync.Mutex
	seen    probeHeaders
}

// probeHeaders are the identity headers the upstream saw on a probe request.
type probeHeaders struct {
	User, Session, Tenant string
}

// chatReply is fixed at start-up so every answer is the same bytes.
func chatReply(now time.Time) []byte {
	return fmt.Appendf(nil, `{"model":"tiny","created_at":%q,"message":{"role":"assistant","content":"Hello!"},`+
		`"done_reason":"stop","done":true,"total_duration":1250000,"load_duration":50000,`+
		`"prompt_eval_count":8,"prompt_eval_duration":400000,"eval_count":3,"eval_duration":600000}`,
		now.UTC().Format(time.RFC3339Nano))
}

func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the upstream: %w", err)
	}
	u := &upstream{ln: ln, url: "http://" + ln.Addr().String()}
	reply := chatReply(time.Now())
	u.srv = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !ctx.IsPost() || string(ctx.Path()) != "/api/chat" {
				ctx.Error(`{"error":"not found"}`, fasthttp.StatusNotFound)
				return
			}
			if u.probing.Load() {
				u.record(&ctx.Request.Header)
			}
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(reply)
		},
		NoDefaultServerHeader: true,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           time.Minute,
	}
	go u.srv.Serve(ln) //nolint:errcheck // Serve returns when Shutdown closes the listener.
	return u, nil
}

func (u *upstream) record(h *fasthttp.RequestHeader) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seen = probeHeaders{
		User:    string(h.Peek("X-Attach-User")),
		Session: string(h.Peek("X-Attach-Session")),
		Tenant:  string(h.Peek("X-Attach-Tenant")),
	}
}

// probe runs fn with header recording on and returns what the upstream saw.
func (u *upstream) probe(fn func() error) (probeHeaders, error) {
	u.mu.Lock()
	u.seen = probeHeaders{}
	u.mu.Unlock()
	u.probing.Store(true)
	err := fn()
	u.probing.Store(false)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen, err
}

func (u *upstream) Close() error {
	return u.srv.Shutdown()
}
