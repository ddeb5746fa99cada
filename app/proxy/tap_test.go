package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// recordingTap keeps what the proxy hands it; a stand-in for memory in
// these unit tests of the proxy alone.
type recordingTap struct {
	mu    sync.Mutex
	team  string   // the team it wants; others are skipped
	asked []string // the teams Wants was asked about
	got   []attach.Exchange
	done  chan struct{}
	// refuse, when set, is what Admit answers.
	refuse error
}

func newRecordingTap(team string) *recordingTap {
	return &recordingTap{team: team, done: make(chan struct{}, 16)}
}

func (r *recordingTap) Wants(teamID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, teamID)
	return teamID == r.team
}

func (r *recordingTap) Admit(string) error { return r.refuse }

func (r *recordingTap) Record(x attach.Exchange) {
	r.mu.Lock()
	r.got = append(r.got, x)
	r.mu.Unlock()
	r.done <- struct{}{}
}

// calls returns what the tap was asked and given so far.
func (r *recordingTap) calls() (asked []string, got []attach.Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked), slices.Clone(r.got)
}

func (r *recordingTap) wait(t *testing.T) attach.Exchange {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the tap was not called")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

func TestTapGetsStreamedAnswerWhole(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := range 3 {
			fmt.Fprintf(w, `{"message":{"role":"assistant","content":"part%d "},"done":false}`+"\n", i)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, `{"done":true}`+"\n")
	}))
	tap := newRecordingTap("team-1")
	gw := startGateway(t, Config{Tap: tap}, teamOf(attach.Engine{Name: "local", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	req := `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`
	body := readBody(t, post(t, gw+"/api/chat", req))
	x := tap.wait(t)
	if string(x.Response) != body {
		t.Errorf("tap response = %q, want what the client got %q", x.Response, body)
	}
	if string(x.Request) != req || x.Path != "/api/chat" || x.Model != "llama3" || x.Engine != "local" {
		t.Errorf("exchange = %+v", x)
	}
	if x.TeamID != "team-1" || x.User != "alice" || x.Session != "sess-1" || x.Status != 200 || x.Start.IsZero() {
		t.Errorf("exchange identity = %+v", x)
	}
}

func TestTapLimitCutsAnswer(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response":"`+strings.Repeat("x", 1000)+`"}`)
	}))
	tap := newRecordingTap("team-1")
	gw := startGateway(t, Config{Tap: tap, TapLimit: 100}, teamOf(attach.Engine{Name: "local", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	if got := readBody(t, post(t, gw+"/api/generate", `{"model":"m","prompt":"p"}`)); len(got) < 1000 {
		t.Fatalf("client got %d bytes: the limit must only bound what is kept", len(got))
	}
	x := tap.wait(t)
	if len(x.Response) != 100 || !x.ResponseCut {
		t.Errorf("kept %d bytes, cut=%v; want 100, true", len(x.Response), x.ResponseCut)
	}
}

func TestTapRecordsEngineFailure(t *testing.T) {
	t.Parallel()
	tap := newRecordingTap("team-1")
	gw := startGateway(t, Config{Tap: tap}, teamOf(attach.Engine{Name: "gone", Dialect: attach.DialectOllama, BaseURL: closedPort(t), Default: true}))
	wantError(t, post(t, gw+"/api/chat", `{"model":"m","messages":[]}`), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
	if x := tap.wait(t); x.Status != http.StatusBadGateway || !strings.Contains(string(x.Response), "unreachable") {
		t.Errorf("exchange = status %d response %q", x.Status, x.Response)
	}
}

// An embedding is not recorded, nor an exchange of a team the tap does not
// want. Each gateway is shut down before the tap is read: shutting down
// waits for every exchange to finish, so any call the tap was going to get
// has come by then.
func TestTapSkipsUnwantedTeamsAndRoutes(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"embeddings":[[0.1]]}`)
	}))
	e := attach.Engine{Name: "local", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}

	tap := newRecordingTap("team-1")
	gw, stop := serveGateway(t, Config{Tap: tap}, teamOf(e))
	readBody(t, post(t, gw+"/api/embed", `{"model":"m","input":"x"}`))
	// A chat of the same team is recorded: the tap works on this gateway.
	readBody(t, post(t, gw+"/api/chat", `{"model":"m","messages":[]}`))
	if err := stop(); err != nil {
		t.Fatalf("stop the gateway: %v", err)
	}
	if _, got := tap.calls(); len(got) != 1 || got[0].Path != "/api/chat" {
		t.Errorf("tap got exchanges on %q; want only the chat, not the embedding", paths(got))
	}

	other := newRecordingTap("someone-else")
	gw2, stop2 := serveGateway(t, Config{Tap: other}, teamOf(e))
	readBody(t, post(t, gw2+"/api/chat", `{"model":"m","messages":[]}`))
	if err := stop2(); err != nil {
		t.Fatalf("stop the gateway: %v", err)
	}
	asked, got := other.calls()
	if !slices.Equal(asked, []string{"team-1"}) {
		t.Errorf("the tap was asked about %q, want once about team-1", asked)
	}
	if len(got) != 0 {
		t.Errorf("tap called for a team it does not want, on %q", paths(got))
	}
}

func paths(xs []attach.Exchange) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.Path)
	}
	return out
}

// A request the tap cannot record is refused before it reaches the engine.
func TestTapRefusalKeepsTheEngineUncalled(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	tap := newRecordingTap("team-1")
	tap.refuse = &attach.Error{Code: attach.CodeUnavailable, Reason: "memory_full", Message: "full"}
	gw := startGateway(t, Config{Tap: tap}, teamOf(attach.Engine{Name: "e", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	wantError(t, post(t, gw+"/api/chat", `{"model":"m","messages":[]}`), http.StatusServiceUnavailable, "memory_full")
	if n := hits.Load(); n != 0 {
		t.Fatalf("the engine was called %d times", n)
	}
	if _, got := tap.calls(); len(got) != 0 {
		t.Fatalf("a refused request was recorded: %+v", got)
	}
}
