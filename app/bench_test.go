package app

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/attach-dev/attach-gateway/memory"
)

// BenchmarkGatewayChat sends a small non-streamed chat request through the
// whole gateway (team lookup, cached JWT verification, identity stamping,
// proxy) to a fasthttp engine on loopback, one request at a time, with
// memory mirroring off and on.
func BenchmarkGatewayChat(b *testing.B) {
	b.Run("mirroring-off", func(b *testing.B) { benchGatewayChat(b, memory.BackendNone) })
	b.Run("mirroring-on", func(b *testing.B) { benchGatewayChat(b, memory.BackendPostgres) })
}

// benchAnswer is a whole Ollama chat answer, with the counts every Ollama
// answer has.
const benchAnswer = `{"model":"tiny","created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":"Hello!"},"done":true,"prompt_eval_count":12,"eval_count":3}`

// benchEngine is an engine on loopback that answers every request at once
// with benchAnswer: what the gateway adds is then what is measured. It
// returns the engine's URL and stops with the benchmark.
func benchEngine(b *testing.B) string {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte(benchAnswer)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBody(answer)
	}}
	go srv.Serve(up)
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + up.Addr().String()
}

func benchGatewayChat(b *testing.B, memBackend string) {
	gw, idp := benchGateway(b, benchEngine(b), memBackend)
	tok := idp.Token(b, "api://default")

	client := &fasthttp.HostClient{Addr: gw.URL[len("http://"):]}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI(gw.URL + "/api/chat")
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.SetContentType("application/json")
	req.SetBodyString(chatBody)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := client.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
	}
}
