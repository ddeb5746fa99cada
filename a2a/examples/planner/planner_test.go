package planner

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// headers adds fixed headers to every request, as the gateway does when it
// relays to the agent.
type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// ask sends text to the planner at url with the given headers and returns
// the task it answers.
func ask(t *testing.T, url string, h headers, text string) *a2a.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a2aclient.NewFromEndpoints(ctx, []a2a.AgentInterface{{Transport: a2a.TransportProtocolJSONRPC, URL: url}},
		a2aclient.WithJSONRPCTransport(&http.Client{Transport: h}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	res, err := c.SendMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: text})})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok {
		t.Fatalf("got %T", res)
	}
	return task
}

func statusText(t *a2a.Task) string {
	if t.Status.Message == nil {
		return ""
	}
	return messageText(t.Status.Message)
}

// gatewayStandIn answers the gateway routes the planner calls: the memory
// note and the coder's JSON-RPC 0.3 route, recording what they were sent.
type gatewayStandIn struct {
	*httptest.Server
	mu          sync.Mutex
	note, coder string
}

func newGatewayStandIn(t *testing.T) *gatewayStandIn {
	g := &gatewayStandIn{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer delegated" {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, 401)
			return
		}
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		defer g.mu.Unlock()
		switch r.URL.Path {
		case "/mem/events":
			g.note = string(b)
			w.WriteHeader(201)
			io.WriteString(w, `{"mem_id":"m1","event":{}}`)
		case "/a2a/coder":
			g.coder = string(b)
			var req struct{ ID any }
			json.Unmarshal(b, &req)
			id, _ := json.Marshal(req.ID)
			io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(id)+`,"result":{"kind":"task","id":"c1","contextId":"x",`+
				`"status":{"state":"completed"},"artifacts":[{"artifactId":"a","parts":[{"kind":"text","text":"package main"}]}]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

// The planner stores its plan under its own task, hands the coder the
// note's mem_id and answers with the coder's artifact; all with the
// delegation token it was given.
func TestPlannerHandsOff(t *testing.T) {
	gw := newGatewayStandIn(t)
	srv := httptest.NewServer(NewHandler(Config{Gateway: callback.Gateway{URL: gw.URL}}))
	defer srv.Close()
	task := ask(t, srv.URL, headers{callback.HeaderToken: "delegated"}, "build a clock")
	if task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) != 1 {
		t.Fatalf("task %s: %q", task.Status.State, statusText(task))
	}
	art := task.Artifacts[0]
	if tp, _ := art.Parts[0].(a2a.TextPart); tp.Text != "package main" || art.Metadata["mem_id"] != "m1" || art.Metadata["coder_task"] != "c1" {
		t.Errorf("artifact %+v", art)
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	var note struct {
		Kind, Content string
		TaskID        string `json:"task_id"`
	}
	if err := json.Unmarshal([]byte(gw.note), &note); err != nil || note.Kind != "note" ||
		!strings.Contains(note.Content, "Plan for: build a clock") || note.TaskID != string(task.ID) {
		t.Errorf("note %s", gw.note)
	}
	if !strings.Contains(gw.coder, `"method":"message/send"`) || !strings.Contains(gw.coder, `"mem_id":"m1"`) {
		t.Errorf("coder was sent %s", gw.coder)
	}
}

// Called other than through the gateway (no delegation token), or when the
// gateway refuses it, the planner fails the task with the reason.
func TestPlannerFailsWithReason(t *testing.T) {
	gw := newGatewayStandIn(t)
	srv := httptest.NewServer(NewHandler(Config{Gateway: callback.Gateway{URL: gw.URL}}))
	defer srv.Close()
	for _, c := range []struct {
		h      headers
		reason string
	}{
		{headers{}, "no delegation token"},
		{headers{callback.HeaderToken: "stale"}, "store note: HTTP 401"},
	} {
		task := ask(t, srv.URL, c.h, "build a clock")
		if task.Status.State != a2a.TaskStateFailed || !strings.Contains(statusText(task), c.reason) {
			t.Errorf("%v: %s %q; want failed with %q", c.h, task.Status.State, statusText(task), c.reason)
		}
	}
}
