package a2atest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2asrv"
	"github.com/a2aproject/a2a-go/a2asrv/eventqueue"
)

// stepInterval is the pause before each "working" update of `slow <n>`.
const stepInterval = 100 * time.Millisecond

// StartAgent03 runs an A2A 0.3 agent built on the a2a-go SDK on a loopback
// port until the test ends. It answers JSON-RPC at its base URL and serves
// its card (protocolVersion 0.3.0) at CardURL.
func StartAgent03(t testing.TB) *Agent {
	t.Helper()
	a := &Agent{Version: "0.3", lastHeaders: http.Header{}}
	var card *a2a.AgentCard // set below, once the address is known

	executor := executor03{stop: make(chan struct{})}
	rpc := a2asrv.NewJSONRPCHandler(a2asrv.NewHandler(executor))
	mux := http.NewServeMux()
	mux.Handle("GET "+CardPath, a2asrv.NewAgentCardHandler(a2asrv.AgentCardProducerFn(
		func(context.Context) (*a2a.AgentCard, error) { return card, nil })))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.lastHeaders = r.Header.Clone()
		a.mu.Unlock()
		// The SDK's JSON-RPC handler hands the executor only what the call
		// context carries; without it the request headers would be lost.
		ctx, _ := a2asrv.WithCallContext(r.Context(), a2asrv.NewRequestMeta(r.Header))
		rpc.ServeHTTP(w, r.WithContext(ctx))
	})

	// The card names the server's own URL, so it is made before serving.
	srv := httptest.NewUnstartedServer(mux)
	a.URL = "http://" + srv.Listener.Addr().String()
	a.CardURL = a.URL + CardPath
	card = card03(a.URL)
	srv.Start()
	t.Cleanup(func() {
		// A test may end with a `wait` task still running and a client still
		// waiting on it; end both, or Close would wait for them forever.
		close(executor.stop)
		srv.CloseClientConnections()
		srv.Close()
	})
	return a
}

func card03(url string) *a2a.AgentCard {
	return &a2a.AgentCard{
		Name:               "a2atest agent 0.3",
		Description:        "Test agent driven by the message text: echo, slow, wait, fail, headers, message.",
		URL:                url,
		PreferredTransport: a2a.TransportProtocolJSONRPC,
		ProtocolVersion:    "0.3.0",
		Version:            "1.0.0",
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Capabilities:       a2a.AgentCapabilities{Streaming: true},
		Skills: []a2a.AgentSkill{
			{
				ID:          "echo",
				Name:        "Echo",
				Description: `Answers with the text after "echo".`,
				Tags:        []string{"test"},
				Examples:    []string{"echo hello"},
			},
			{
				ID:          "lifecycle",
				Name:        "Task lifecycle",
				Description: "slow <n>, wait, fail, headers, message <text>.",
				Tags:        []string{"test"},
				Examples:    []string{"slow 3", "wait", "fail"},
			},
		},
	}
}

// executor03 is the 0.3 agent's behaviour; see the package comment.
type executor03 struct {
	stop chan struct{} // closed when the agent stops
}

func (e executor03) Execute(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	text := strings.TrimSpace(messageText(rc.Message))
	command, arg, _ := strings.Cut(text, " ")
	arg = strings.TrimSpace(arg)

	if command == "message" {
		msg := a2a.NewMessage(a2a.MessageRoleAgent, a2a.TextPart{Text: arg})
		msg.ContextID = rc.ContextID
		return q.Write(ctx, msg)
	}

	// Every task starts as submitted, with the user's message as history.
	if rc.StoredTask == nil {
		if err := q.Write(ctx, a2a.NewSubmittedTask(rc, rc.Message)); err != nil {
			return err
		}
	}

	switch command {
	case "slow":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			n = 1
		}
		for i := 1; i <= n; i++ {
			select {
			case <-ctx.Done(): // canceled meanwhile
				return nil
			case <-e.stop:
				return nil
			case <-time.After(stepInterval):
			}
			if err := q.Write(ctx, status(rc, a2a.TaskStateWorking, fmt.Sprintf("step %d/%d", i, n))); err != nil {
				return err
			}
		}
		if err := q.Write(ctx, artifact(rc, "result", fmt.Sprintf("slow %d done", n))); err != nil {
			return err
		}
		return q.Write(ctx, status(rc, a2a.TaskStateCompleted, "done"))
	case "wait":
		if err := q.Write(ctx, status(rc, a2a.TaskStateWorking, "waiting to be canceled")); err != nil {
			return err
		}
		// The SDK cancels this context once Cancel's canceled event is applied.
		select {
		case <-ctx.Done():
		case <-e.stop:
		}
		return nil
	case "fail":
		return q.Write(ctx, status(rc, a2a.TaskStateFailed, "failed on request"))
	case "headers":
		report := headerReport(ctx)
		if err := q.Write(ctx, artifact(rc, "headers", report)); err != nil {
			return err
		}
		return q.Write(ctx, status(rc, a2a.TaskStateCompleted, report))
	default:
		echoed := text
		if command == "echo" {
			echoed = arg
		}
		if err := q.Write(ctx, status(rc, a2a.TaskStateWorking, "")); err != nil {
			return err
		}
		if err := q.Write(ctx, artifact(rc, "echo", echoed)); err != nil {
			return err
		}
		return q.Write(ctx, status(rc, a2a.TaskStateCompleted, echoed))
	}
}

func (executor03) Cancel(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	return q.Write(ctx, status(rc, a2a.TaskStateCanceled, "canceled"))
}

// status is a status update with an optional agent message; terminal
// states are marked final, which is what ends the SDK's execution.
func status(rc *a2asrv.RequestContext, state a2a.TaskState, text string) *a2a.TaskStatusUpdateEvent {
	var msg *a2a.Message
	if text != "" {
		msg = a2a.NewMessageForTask(a2a.MessageRoleAgent, rc, a2a.TextPart{Text: text})
	}
	ev := a2a.NewStatusUpdateEvent(rc, state, msg)
	ev.Final = state.Terminal()
	return ev
}

func artifact(rc *a2asrv.RequestContext, name, text string) *a2a.TaskArtifactUpdateEvent {
	ev := a2a.NewArtifactEvent(rc, a2a.TextPart{Text: text})
	ev.Artifact.Name = name
	ev.LastChunk = true
	return ev
}

func messageText(m *a2a.Message) string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if tp, ok := p.(a2a.TextPart); ok {
			b.WriteString(tp.Text)
		}
	}
	return b.String()
}

func headerReport(ctx context.Context) string {
	report := HeaderReport{Headers: map[string]string{}}
	if cc, ok := a2asrv.CallContextFrom(ctx); ok && cc.RequestMeta() != nil {
		for name, values := range cc.RequestMeta().List() {
			name = strings.ToLower(name)
			switch {
			case name == "authorization":
				report.Authorization = true
			case strings.HasPrefix(name, "x-attach-"):
				report.Headers[name] = strings.Join(values, ", ")
			}
		}
	}
	b, _ := json.Marshal(report)
	return string(b)
}
