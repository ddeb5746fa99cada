package a2a

import (
	"context"
	"net/http"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a/a2atest"
)

// fixedTeams is one team with the agents a test gives it.
type fixedTeams map[string]attach.Agent

func (f fixedTeams) TeamAgent(_, name string) (string, attach.Agent, bool) {
	a, ok := f[name]
	return "lab", a, ok
}

// age moves a task's clocks back, as if nobody had touched it for d.
func age(t *testing.T, s *Store, id string, d time.Duration) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), `UPDATE tasks SET updated_at = updated_at - make_interval(secs => $2),
		checked_at = checked_at - make_interval(secs => $2) WHERE id = $1`, id, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

func TestReconcileSettlesTasksNobodyFollows(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	agent := a2atest.StartAgent03(t)
	r := NewRelay(Config{Store: s, Client: http.DefaultClient, CallTimeout: time.Second})
	live := attach.Agent{Name: "worker", BaseURL: agent.URL, Version: "0.3"}

	// A task the agent finished while nobody watched.
	id := relaySend(t, r, team, live, "echo done meanwhile")
	running, _, err := s.Apply(ctx, Change{Task: attach.Task{TeamID: team, AgentName: "worker", TaskID: id, State: attach.TaskWorking}})
	if err != nil || running.State != attach.TaskWorking {
		t.Fatalf("set back to working: %v %v", running, err)
	}
	// A hand-off whose gateway died before the agent answered.
	opened, _ := attach.NewID()
	if err := s.Open(ctx, attach.Task{ID: opened, TeamID: team, AgentName: "worker", User: "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	// A task the agent never heard of.
	forgotten := attach.Task{TeamID: team, AgentName: "worker", User: "alice", TaskID: "not-the-agents", State: attach.TaskWorking}
	if _, _, err := s.Apply(ctx, Change{Task: forgotten}); err != nil {
		t.Fatal(err)
	}
	// A task of an agent removed since.
	gone := attach.Task{TeamID: team, AgentName: "removed", User: "alice", TaskID: "t-gone", State: attach.TaskWorking}
	if _, _, err := s.Apply(ctx, Change{Task: gone}); err != nil {
		t.Fatal(err)
	}
	for _, tid := range []string{id, opened, "not-the-agents"} {
		got, err := s.Get(ctx, team, "worker", tid)
		if err != nil {
			t.Fatal(err)
		}
		age(t, s, got.ID, 5*time.Minute)
	}
	g, _ := s.Get(ctx, team, "removed", "t-gone")
	age(t, s, g.ID, 5*time.Minute)

	n, err := r.Reconcile(ctx, fixedTeams{"worker": live})
	if err != nil || n != 4 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	want := map[string]string{id: attach.TaskCompleted, opened: attach.TaskFailed, "not-the-agents": attach.TaskFailed}
	for tid, state := range want {
		got, _ := s.Get(ctx, team, "worker", tid)
		if got.State != state {
			t.Errorf("task %s: %s (%s); want %s", tid, got.State, got.Reason, state)
		}
		if state == attach.TaskFailed && got.Reason == "" {
			t.Errorf("task %s failed without a reason", tid)
		}
	}
	if g, _ := s.Get(ctx, team, "removed", "t-gone"); g.State != attach.TaskFailed {
		t.Errorf("task of a removed agent: %s", g.State)
	}
	// Settled tasks are not claimed again.
	if n, err := r.Reconcile(ctx, fixedTeams{"worker": live}); err != nil || n != 0 {
		t.Errorf("second pass: %d %v", n, err)
	}
}

// relaySend hands text to the agent through the relay and returns the
// agent's task id.
func relaySend(t *testing.T, r *Relay, team string, agent attach.Agent, text string) string {
	t.Helper()
	params := []byte(`{"message":{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"` + text + `"}]}}`)
	resp := r.Do(context.Background(), Call{
		Agent: agent, Version: "0.3", Method: MethodSend,
		Request: Request{JSONRPC: "2.0", ID: []byte(`"1"`), Method: "message/send", Params: params},
		Caller:  Caller{TeamID: team, TeamSlug: "lab", User: "alice", Session: "s"},
	})
	if resp.Error != nil {
		t.Fatalf("send: %v", resp.Error)
	}
	ref := refOf(resp.Result)
	if ref.Kind != "task" || ref.ID == "" {
		t.Fatalf("send: %s", resp.Result)
	}
	return ref.ID
}
