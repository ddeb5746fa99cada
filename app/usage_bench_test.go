package app

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/memory"
)

// BenchmarkGatewayUsage sends requests one at a time through three
// gateways in turn: usage recording off, off again (the control, whose
// ratio to the first is the machine's noise) and on (counted from the
// answer, written to the ledger in Postgres). It reports each one's mean
// time per request and the ratios on/off and control/off; memory
// mirroring is off in all three. "chat" is a whole Ollama answer,
// "openai-stream" an SSE stream whose usage chunk the gateway asks for and
// takes out, "openai-stream-asked" one whose client asked for it.
func BenchmarkGatewayUsage(b *testing.B) {
	b.Run("chat", func(b *testing.B) { benchGatewayUsage(b, "/api/chat", chatBody) })
	b.Run("openai-stream", func(b *testing.B) {
		benchGatewayUsage(b, "/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	})
	// The client asks for the usage chunk itself: nothing to add or take out.
	b.Run("openai-stream-asked", func(b *testing.B) {
		benchGatewayUsage(b, "/v1/chat/completions", `{"model":"tiny","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	})
}

func benchGatewayUsage(b *testing.B, path, body string) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	whole := []byte(`{"model":"tiny","created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":"Hello!"},"done":true,"prompt_eval_count":12,"eval_count":3}`)
	events := []byte("data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"}}]}\n\n" +
		"data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]}\n\n")
	usageEvent := []byte("data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\n")
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/api/chat" {
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(whole)
			return
		}
		ctx.SetContentType("text/event-stream")
		out := append([]byte(nil), events...)
		if bytes.Contains(ctx.PostBody(), []byte(`"include_usage":true`)) {
			out = append(out, usageEvent...)
		}
		out = append(out, "data: [DONE]\n\n"...)
		// Unknown length: the gateway passes it on as a stream.
		ctx.SetBodyStream(bytes.NewReader(out), -1)
	}}
	go srv.Serve(up)
	defer srv.Shutdown()

	idp := oidctest.Start(b, oidctest.Options{})
	tok := idp.Token(b, "api://default")
	type target struct {
		client *fasthttp.HostClient
		req    *fasthttp.Request
		took   time.Duration
	}
	var targets []*target
	for _, on := range []bool{false, false, true} {
		cfg := testConfig(b)
		cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", "http://"+up.Addr().String()
		cfg.MemBackend = memory.BackendNone
		cfg.Usage.Enabled = on
		gw := startGateway(b, cfg)
		req := fasthttp.AcquireRequest()
		req.SetRequestURI(gw.URL + path)
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
		targets = append(targets, &target{client: &fasthttp.HostClient{Addr: gw.URL[len("http://"):]}, req: req})
	}
	resp := fasthttp.AcquireResponse()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// In turns, so that the machine's moods fall on all three alike.
		for _, t := range targets {
			start := time.Now()
			if err := t.client.Do(t.req, resp); err != nil {
				b.Fatal(err)
			}
			t.took += time.Since(start)
			if resp.StatusCode() != 200 {
				b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
		}
	}
	b.StopTimer()
	off, control, on := targets[0].took, targets[1].took, targets[2].took
	n := float64(b.N)
	b.ReportMetric(float64(off.Microseconds())/n, "µs/req-off")
	b.ReportMetric(float64(on.Microseconds())/n, "µs/req-on")
	b.ReportMetric(float64(on)/float64(off), "on/off")
	b.ReportMetric(float64(control)/float64(off), "control/off")
}
