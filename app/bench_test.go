package app

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkGatewayChat sends a small non-streamed chat request through the
// whole gateway (team lookup, cached JWT verification, identity stamping,
// proxy) to a fasthttp engine on loopback, one request at a time.
func BenchmarkGatewayChat(b *testing.B) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte(`{"model":"tiny","created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":"Hello!"},"done":true}`)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBody(answer)
	}}
	go srv.Serve(up)
	defer srv.Shutdown()

	gw, idp := benchGateway(b, "http://"+up.Addr().String())
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
