package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkA2ARelay measures what the gateway adds to an A2A hand-off,
// beside what it adds to a chat, in the same run: each iteration sends a
// chat to the engine directly and through the gateway, a message/send to
// an agent directly and through the gateway, and opens a message/stream
// both ways, timing its first event. The engine and the agent answer at
// once from memory, so the figures are the gateway's own cost. Reported:
// µs added per chat, per send, and to a stream's first event.
func BenchmarkA2ARelay(b *testing.B) {
	engine := benchServer(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString(`{"model":"tiny","created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":"Hello!"},"done":true}`)
	})
	var ids atomic.Int64
	agent := benchServer(b, func(ctx *fasthttp.RequestCtx) {
		id := fmt.Sprintf("task-%d", ids.Add(1))
		if strings.Contains(string(ctx.PostBody()), `"message/stream"`) {
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				fmt.Fprintf(w, `data: {"jsonrpc":"2.0","id":"1","result":{"kind":"task","id":%q,"contextId":"c","status":{"state":"working"}}}`+"\n\n", id)
				w.Flush()
				fmt.Fprintf(w, `data: {"jsonrpc":"2.0","id":"1","result":{"kind":"status-update","taskId":%q,"contextId":"c","final":true,"status":{"state":"completed"}}}`+"\n\n", id)
				w.Flush()
			})
			return
		}
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"jsonrpc":"2.0","id":"1","result":{"kind":"task","id":%q,"contextId":"c","status":{"state":"completed"},"artifacts":[{"artifactId":"a","parts":[{"kind":"text","text":"done"}]}]}}`, id)
	})
	card := `{"protocolVersion":"0.3.0","name":"bench","description":"d","url":"` + agent + `","version":"1","capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[]}`
	agentCard := benchServer(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(card)
	})

	gw, idp := benchGateway(b, engine, memory.BackendPostgres)
	tok := idp.Token(b, "api://default")
	team, _ := gw.dir.Team(gw.cfg.DefaultTeam)
	ag, err := gw.store.CreateAgent(context.Background(), team.Team.ID, agentInput("bench", agentCard))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gw.store.SetAgentCard(context.Background(), team.Team.ID, ag.ID, []byte(card), "0.3", ""); err != nil {
		b.Fatal(err)
	}
	for {
		s, _ := gw.dir.Team(gw.cfg.DefaultTeam)
		if a, ok := s.Agent("bench"); ok && a.CardVersion != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	send := `{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"hello"}]}}}`
	stream := strings.Replace(send, "message/send", "message/stream", 1)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	post := func(url, auth, body string) time.Duration {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		// An answer without a newline ends at EOF: the whole of it.
		if line, err := r.ReadString('\n'); err != nil && (err != io.EOF || line == "") {
			b.Fatal(err)
		}
		took := time.Since(start) // to the first line: the whole answer, or a stream's first event
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
		_, _ = r.WriteTo(discard{})
		return took
	}

	var chatDirect, chatGW, sendDirect, sendGW, firstDirect, firstGW time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		chatDirect += post(engine+"/api/chat", "", chatBody)
		chatGW += post(gw.URL+"/api/chat", tok, chatBody)
		sendDirect += post(agent, "", send)
		sendGW += post(gw.URL+"/a2a/bench", tok, send)
		firstDirect += post(agent, "", stream)
		firstGW += post(gw.URL+"/a2a/bench", tok, stream)
	}
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	b.ReportMetric(us(chatGW-chatDirect), "chat-added-µs")
	b.ReportMetric(us(sendGW-sendDirect), "send-added-µs")
	b.ReportMetric(us(firstGW-firstDirect), "first-event-added-µs")
	b.ReportMetric(us(chatDirect), "chat-direct-µs")
	b.ReportMetric(us(sendDirect), "send-direct-µs")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// benchServer serves h on a loopback port until the benchmark ends and
// returns its URL.
func benchServer(b *testing.B, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func agentInput(name, url string) tenants.AgentInput {
	return tenants.AgentInput{Name: name, BaseURL: url, Version: "auto"}
}
