package app

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	a2ago "github.com/a2aproject/a2a-go/a2a"

	"github.com/attach-dev/attach-gateway/a2a/a2atest"
	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
	"github.com/attach-dev/attach-gateway/a2a/examples/coder"
	"github.com/attach-dev/attach-gateway/a2a/examples/planner"
)

// startDemoAgent runs one of the demo agents on a loopback port until the
// test ends and returns its URL.
func startDemoAgent(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo agent: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// The demo end to end: a user asks the planner (A2A 0.3, a2a-go) through
// the gateway; the planner stores its plan in memory and hands the coder
// (A2A 1.0) its mem_id through the gateway with its delegation token; the
// coder reads the plan and asks the team's engine, as the same user.
func TestDemoPlannerHandsToCoder(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	team := callback.Gateway{URL: gw.URL}
	plannerURL := startDemoAgent(t, func(ctx context.Context, ln net.Listener) error {
		return planner.Serve(ctx, ln, planner.Config{Gateway: team, Logger: testLogger()})
	})
	coderURL := startDemoAgent(t, func(ctx context.Context, ln net.Listener) error {
		return coder.Serve(ctx, ln, coder.Config{Gateway: team, Logger: testLogger()})
	})
	registerAgent(t, gw, gw.cfg.DefaultTeam, "planner", plannerURL, "")
	registerAgent(t, gw, gw.cfg.DefaultTeam, "coder", coderURL, "")
	snap, _ := gw.dir.Team(gw.cfg.DefaultTeam)
	for name, want := range map[string]string{"planner": "0.3", "coder": "1.0"} {
		if ag, _ := snap.Agent(name); ag.SpokenVersion() != want || ag.CardError != "" {
			t.Fatalf("%s: version %q, card error %q; want %s", name, ag.SpokenVersion(), ag.CardError, want)
		}
	}

	tok := idp.Token(t, "api://default")
	task := send03(t, a2atest.Client03(t, gw.URL+"/a2a/planner", tok), userMsg("build a hello world"))
	if task.Status.State != a2ago.TaskStateCompleted || a2atest.ArtifactText(task) != "Hello!" {
		t.Fatalf("planner task: %s %q (%s); want completed with the engine's answer", task.Status.State, a2atest.ArtifactText(task), statusText(task))
	}
	if len(task.Artifacts) != 1 {
		t.Fatalf("planner task: %d artifacts", len(task.Artifacts))
	}
	memID, _ := task.Artifacts[0].Metadata["mem_id"].(string)
	coderTask, _ := task.Artifacts[0].Metadata["coder_task"].(string)
	if memID == "" || coderTask == "" {
		t.Fatalf("planner artifact metadata: %v", task.Artifacts[0].Metadata)
	}

	// The tree: the coder's task is the child of the planner's hand-off,
	// both for the same user.
	ctx := context.Background()
	var handoff, plannerUser, plannerState string
	if err := gw.pool.QueryRow(ctx, "SELECT id::text, user_sub, state FROM tasks WHERE agent_name = 'planner' AND task_id = $1",
		string(task.ID)).Scan(&handoff, &plannerUser, &plannerState); err != nil {
		t.Fatalf("planner task row: %v", err)
	}
	var parent, coderUser, coderState string
	if err := gw.pool.QueryRow(ctx, "SELECT coalesce(parent_id::text, ''), user_sub, state FROM tasks WHERE agent_name = 'coder' AND task_id = $1",
		coderTask).Scan(&parent, &coderUser, &coderState); err != nil {
		t.Fatalf("coder task row: %v", err)
	}
	if parent != handoff {
		t.Errorf("coder task's parent %q; want the planner's hand-off %q", parent, handoff)
	}
	if plannerUser != "gateway-rs256" || coderUser != plannerUser {
		t.Errorf("users: planner %q, coder %q; want both the token's", plannerUser, coderUser)
	}
	if plannerState != "completed" || coderState != "completed" {
		t.Errorf("states: planner %q, coder %q", plannerState, coderState)
	}

	// The plan is in memory, as the user's note, filed under the planner's
	// task beside what was sent and answered.
	resp, body := call(t, "GET", gw.URL+"/mem/events/"+memID, tok, "")
	var note callback.Event
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &note) != nil ||
		note.Kind != "note" || note.User != "gateway-rs256" || !strings.Contains(note.Content, "Plan for: build a hello world") {
		t.Fatalf("the plan in memory: %d %s", resp.StatusCode, body)
	}
	var kinds string
	waitFor(t, "the planner task's story in memory", func() bool {
		_, body := call(t, "GET", gw.URL+"/mem/events?task="+string(task.ID), tok, "")
		var out struct{ Events []callback.Event }
		if json.Unmarshal([]byte(body), &out) != nil {
			return false
		}
		var seen []string
		for _, e := range out.Events {
			seen = append(seen, e.Kind)
		}
		kinds = strings.Join(seen, ",")
		return strings.Contains(kinds, "task_sent") && strings.Contains(kinds, "task_result") && strings.Contains(kinds, "note")
	})

	// The coder asked the engine as the user, with the plan.
	up, upBody := eng.lastRequest()
	if up.URL.Path != "/api/chat" || up.Header.Get("X-Attach-User") != "gateway-rs256" || !strings.Contains(string(upBody), "Plan for: build a hello world") {
		t.Errorf("engine saw %s as %q: %s", up.URL.Path, up.Header.Get("X-Attach-User"), upBody)
	}
	if up.Header.Get("Authorization") != "" {
		t.Error("the engine saw an Authorization header")
	}

	// The coder is a real 1.0 agent: the 1.0 SDK's client reads its card
	// from the gateway and gets its answer; a plan sent as text is used
	// as it is.
	res := a2atest.RunJS10(t, gw.URL+"/a2a/coder/", tok, a2atest.JS10{Op: "send", Text: "Plan for: print the date"})
	if res.Error != nil {
		t.Fatalf("1.0 client to the coder: %s: %s", res.Error.Name, res.Error.Message)
	}
	var sent struct {
		Task struct {
			Status    struct{ State string }
			Artifacts []struct{ Parts []struct{ Text string } }
		}
	}
	if err := json.Unmarshal(res.Result, &sent); err != nil || sent.Task.Status.State != "TASK_STATE_COMPLETED" ||
		len(sent.Task.Artifacts) != 1 || sent.Task.Artifacts[0].Parts[0].Text != "Hello!" {
		t.Errorf("1.0 client to the coder: %s", res.Result)
	}
	if _, upBody := eng.lastRequest(); !strings.Contains(string(upBody), "Plan for: print the date") {
		t.Errorf("engine was sent %s", upBody)
	}
}

func statusText(task *a2ago.Task) string {
	if task.Status.Message == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range task.Status.Message.Parts {
		if tp, ok := p.(a2ago.TextPart); ok {
			b.WriteString(tp.Text)
		}
	}
	return b.String()
}
