package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/web"
)

const benchAnswer = `{"model":"llama3","created_at":"2025-05-01T10:00:00Z","message":{"role":"assistant","content":"Hello! How can I help?"},"done":true,"done_reason":"stop","total_duration":1234567,"eval_count":7}`

// BenchmarkProxyChat measures what the gateway adds to a non-streamed chat
// call: client -> Fiber -> Serve -> engine, all over in-memory connections so
// that only the proxy's own work is timed. BenchmarkBareChat is the baseline:
// the same path with a forward that does nothing but copy.
func BenchmarkProxyChat(b *testing.B) { benchChat(b, false) }

func BenchmarkBareChat(b *testing.B) { benchChat(b, true) }

func benchChat(b *testing.B, bare bool) {
	upLn := fasthttputil.NewInmemoryListener()
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString(benchAnswer)
	}}
	go func() { _ = up.Serve(upLn) }()
	defer up.Shutdown()

	p := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer p.Close()
	p.client.Dial = func(string) (net.Conn, error) {
		c, err := upLn.Dial()
		if err != nil {
			return nil, &dialError{err: err}
		}
		return &engineConn{Conn: c, header: p.cfg.ResponseHeaderTimeout, idle: p.cfg.StreamIdleTimeout,
			open: &p.dialer.open, pending: &p.dialer.pending}, nil
	}
	team := teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: "http://engine", Models: []string{"llama3"}, Default: true})
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: web.WriteError})
	app.Post("/api/chat", func(c *fiber.Ctx) error {
		if bare {
			return bareForward(c, p.client)
		}
		return p.Serve(c, team, "/api/chat", testIdentity)
	})
	gwLn := fasthttputil.NewInmemoryListener()
	go func() { _ = app.Listener(gwLn) }()
	defer app.Shutdown()

	client := &fasthttp.HostClient{Addr: "gateway", Dial: func(string) (net.Conn, error) { return gwLn.Dial() }}
	body := []byte(`{"model":"llama3","messages":[{"role":"user","content":"hi"}],"stream":false}`)
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI("http://gateway/api/chat")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer client-token")
	req.SetBody(body)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := client.Do(req, resp); err != nil {
			b.Fatalf("request: %v", err)
		}
		if resp.StatusCode() != fasthttp.StatusOK || len(resp.Body()) != len(benchAnswer) {
			b.Fatalf("answer %d %q", resp.StatusCode(), resp.Body())
		}
	}
}

// bareForward is the least a forward can do: copy the request, call the
// engine, copy the answer.
func bareForward(c *fiber.Ctx, client *fasthttp.Client) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	c.Request().CopyTo(req)
	req.SetRequestURI("http://engine/api/chat")
	if err := client.Do(req, resp); err != nil {
		return err
	}
	c.Response().SetStatusCode(resp.StatusCode())
	c.Response().SetBody(resp.Body())
	return nil
}

const (
	benchOpenAIAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1746093600,"model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}`
	benchOpenAIChunk  = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1746093600,"model":"llama3","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}` + "\n\n"
	benchOpenAIEnd    = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1746093600,"model":"llama3","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1746093600,"model":"llama3","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":32}}` + "\n\n" +
		"data: [DONE]\n\n"
)

// BenchmarkDialectChat compares, against one OpenAI engine, an OpenAI
// client's chat passed through with an Ollama client's chat translated
// both ways: whole answers, and streams of 32 chunks.
func BenchmarkDialectChat(b *testing.B) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	b.Run("whole/passthrough", func(b *testing.B) {
		benchDialect(b, false, "/v1/chat/completions", `{"model":"llama3",`+msgs+`}`)
	})
	b.Run("whole/translated", func(b *testing.B) {
		benchDialect(b, false, "/api/chat", `{"model":"llama3","stream":false,`+msgs+`}`)
	})
	b.Run("stream/passthrough", func(b *testing.B) {
		benchDialect(b, true, "/v1/chat/completions", `{"model":"llama3","stream":true,`+msgs+`}`)
	})
	b.Run("stream/translated", func(b *testing.B) {
		benchDialect(b, true, "/api/chat", `{"model":"llama3",`+msgs+`}`)
	})
}

func benchDialect(b *testing.B, stream bool, path, body string) {
	upLn := fasthttputil.NewInmemoryListener()
	sse := []byte(strings.Repeat(benchOpenAIChunk, 32) + benchOpenAIEnd)
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if !stream {
			ctx.SetContentType("application/json")
			ctx.SetBodyString(benchOpenAIAnswer)
			return
		}
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStream(bytes.NewReader(sse), -1)
	}}
	go func() { _ = up.Serve(upLn) }()
	defer up.Shutdown()

	p := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer p.Close()
	p.client.Dial = func(string) (net.Conn, error) {
		c, err := upLn.Dial()
		if err != nil {
			return nil, &dialError{err: err}
		}
		return &engineConn{Conn: c, header: p.cfg.ResponseHeaderTimeout, idle: p.cfg.StreamIdleTimeout,
			open: &p.dialer.open, pending: &p.dialer.pending}, nil
	}
	team := teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: "http://engine/v1", Models: []string{"llama3"}, Default: true})
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: web.WriteError})
	app.Post(path, func(c *fiber.Ctx) error { return p.Serve(c, team, path, testIdentity) })
	gwLn := fasthttputil.NewInmemoryListener()
	go func() { _ = app.Listener(gwLn) }()
	defer app.Shutdown()

	client := &fasthttp.HostClient{Addr: "gateway", Dial: func(string) (net.Conn, error) { return gwLn.Dial() }}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI("http://gateway" + path)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := client.Do(req, resp); err != nil {
			b.Fatalf("request: %v", err)
		}
		if resp.StatusCode() != fasthttp.StatusOK || !bytes.Contains(resp.Body(), []byte(`"stop"`)) {
			b.Fatalf("answer %d %q", resp.StatusCode(), resp.Body())
		}
	}
}
