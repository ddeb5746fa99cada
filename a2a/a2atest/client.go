package a2atest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/a2aproject/a2a-go/a2aclient/agentcard"
)

// cardTimeout bounds reading the card in Client03.
const cardTimeout = 30 * time.Second

// Client03 is an a2a-go (A2A 0.3) client for an agent. url is either the
// card's URL (ending in /.well-known/agent-card.json) or the agent's base
// URL, below which the card is read at CardPath. With a non-empty bearer
// every request, the card's included, carries Authorization: Bearer
// <bearer>. The client talks JSON-RPC to the URL the card names; it is
// destroyed when the test ends. Its calls are bounded only by the contexts
// they are given, so streams may last as long as a test needs.
func Client03(t testing.TB, url, bearer string) *a2aclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cardTimeout)
	defer cancel()
	httpClient := &http.Client{}
	if bearer != "" {
		httpClient.Transport = bearerTransport{token: bearer, next: http.DefaultTransport}
	}
	base, path := url, CardPath
	if i := strings.Index(url, "/.well-known/"); i >= 0 {
		base, path = url[:i], url[i:]
	}
	card, err := agentcard.NewResolver(httpClient).Resolve(ctx, base, agentcard.WithPath(path))
	if err != nil {
		t.Fatalf("a2atest: resolve the card at %s%s: %v", base, path, err)
	}
	client, err := a2aclient.NewFromCard(ctx, card, a2aclient.WithJSONRPCTransport(httpClient))
	if err != nil {
		t.Fatalf("a2atest: 0.3 client for %s: %v", card.URL, err)
	}
	t.Cleanup(func() { _ = client.Destroy() })
	return client
}

// bearerTransport adds the caller's bearer token to every request, as a
// client configured with a credential would.
type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// JS10 is one operation for the A2A 1.0 client (js/client.mjs on
// @a2a-js/sdk). The client resolves the card at
// <baseURL>/.well-known/agent-card.json and talks JSON-RPC to the
// interface the card names.
type JS10 struct {
	// Op is one of "send" (blocking), "send-nonblocking", "stream",
	// "get", "cancel", "subscribe", "list" or "card".
	Op string `json:"op"`
	// Text is the user message's text, for the send ops and stream.
	Text string `json:"text,omitempty"`
	// TaskID is the task to act on (get, cancel, subscribe) or to continue
	// (the send ops, stream); "$task" in RunJS10Steps. ContextID continues
	// a context, or filters list.
	TaskID    string `json:"taskId,omitempty"`
	ContextID string `json:"contextId,omitempty"`
	// HistoryLength, when set, is passed to get.
	HistoryLength *int `json:"historyLength,omitempty"`
	// Headers are sent with the operation's requests besides
	// Authorization. In RunJS10Steps each step sends its own, and the card
	// request those of the first step.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds the operation; default 20 s.
	Timeout time.Duration `json:"-"`
}

// JS10Result is what the 1.0 client printed, in A2A 1.0 wire form
// (protobuf JSON: enum names like "TASK_STATE_COMPLETED", oneof fields).
type JS10Result struct {
	// Result is {"task": ...} or {"message": ...} for the send ops, the
	// Task for get and cancel, the ListTasksResponse for list and the
	// AgentCard for card.
	Result json.RawMessage `json:"result,omitempty"`
	// Events are the StreamResponses of stream and subscribe, in order,
	// e.g. {"statusUpdate": {...}}.
	Events []json.RawMessage `json:"events,omitempty"`
	// Error is the client's error when the operation failed; events
	// received before it are kept.
	Error *JS10Error `json:"error,omitempty"`
}

// JS10Error is an error the 1.0 client raised: its class name (such as
// TaskNotFoundError) and message.
type JS10Error struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Code    any    `json:"code,omitempty"`
}

// RunJS10 performs op with the A2A 1.0 client against the agent (or
// gateway route) at baseURL, sending Authorization: Bearer <bearer> on every
// request when bearer is not empty. A failed A2A call is reported in
// JS10Result.Error; the test fails only when the client cannot run.
func RunJS10(t testing.TB, baseURL, bearer string, op JS10) JS10Result {
	t.Helper()
	var res JS10Result
	runNode(t, baseURL, bearer, op.Op, op, op.timeout(), &res)
	return res
}

// RunJS10Steps is RunJS10 for several operations, done one after the other
// by one client in one node process: quicker than one RunJS10 each, and with
// no pause between them (a subscription, for instance, begins while a task
// just sent is still running). A step whose TaskID is "$task" acts on the
// last task an earlier step saw, in a result or an event.
func RunJS10Steps(t testing.TB, baseURL, bearer string, steps ...JS10) []JS10Result {
	t.Helper()
	var total time.Duration
	ops := make([]string, len(steps))
	for i, s := range steps {
		total += s.timeout()
		ops[i] = s.Op
	}
	var out struct {
		Steps []JS10Result `json:"steps"`
	}
	if len(steps) == 0 {
		t.Fatal("a2atest: RunJS10Steps without steps")
	}
	runNode(t, baseURL, bearer, strings.Join(ops, ","), struct {
		Steps   []JS10            `json:"steps"`
		Headers map[string]string `json:"headers,omitempty"`
	}{steps, steps[0].Headers}, total, &out)
	if len(out.Steps) != len(steps) {
		t.Fatalf("a2atest: 1.0 client answered %d steps of %d", len(out.Steps), len(steps))
	}
	return out.Steps
}

func (op JS10) timeout() time.Duration {
	if op.Timeout > 0 {
		return op.Timeout
	}
	return 20 * time.Second
}

// runNode runs client.mjs with spec (op fields or steps) and decodes what
// it prints into out.
func runNode(t testing.TB, baseURL, bearer, what string, spec any, timeout time.Duration, out any) {
	t.Helper()
	requireNode(t)
	arg, err := json.Marshal(spec)
	if err != nil {
		t.Fatalf("a2atest: %v", err)
	}
	// Add the connection fields to the operation's (or steps') own.
	var fields map[string]any
	_ = json.Unmarshal(arg, &fields)
	fields["baseURL"] = baseURL
	fields["timeoutMs"] = timeout.Milliseconds()
	if bearer != "" {
		fields["bearer"] = bearer
	}
	if arg, err = json.Marshal(fields); err != nil {
		t.Fatalf("a2atest: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(jsDir(), "client.mjs"), string(arg))
	cmd.Dir = jsDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("a2atest: 1.0 client %s: %v\nstdout: %s\nstderr: %s", what, err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("a2atest: 1.0 client %s printed no JSON result: %v\nstdout: %s\nstderr: %s", what, err, stdout.String(), stderr.String())
	}
}

// ArtifactText is the text of a 0.3 task's artifacts, joined: what the
// test agents answer.
func ArtifactText(task *a2a.Task) string {
	var b strings.Builder
	for _, a := range task.Artifacts {
		for _, p := range a.Parts {
			if tp, ok := p.(a2a.TextPart); ok {
				b.WriteString(tp.Text)
			}
		}
	}
	return b.String()
}
