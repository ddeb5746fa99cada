package a2a

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newTestStore gives a Store on a fresh database with one team.
func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	pool := pgtest.New(t)
	teamID, _ := attach.NewID()
	if _, err := pool.Exec(context.Background(), "INSERT INTO teams (id, slug, name) VALUES ($1, $2, $2)", teamID, "team-"+teamID[:8]); err != nil {
		t.Fatal(err)
	}
	return NewStore(pool), teamID
}

func TestStoreFollowsATask(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	who := attach.Task{TeamID: team, AgentName: "coder", User: "alice", Session: "s1", TaskID: "t-1", ContextID: "c-1"}
	input := json.RawMessage(`{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"write it"}]}`)

	// The stream's first event: the task, submitted.
	got, moved, err := s.Apply(ctx, Change{Task: who, Messages: []json.RawMessage{input},
		Snapshot: json.RawMessage(`{"kind":"task","id":"t-1","contextId":"c-1","status":{"state":"submitted"}}`)})
	if err != nil || !moved || got.State != attach.TaskSubmitted || got.User != "alice" {
		t.Fatalf("first apply: %+v moved=%v err=%v", got, moved, err)
	}
	// Then an artifact, then the final status with its message.
	_, moved, err = s.Apply(ctx, Change{Task: who, Update: json.RawMessage(
		`{"kind":"artifact-update","taskId":"t-1","contextId":"c-1","artifact":{"artifactId":"a1","parts":[{"kind":"text","text":"func main() {}"}]}}`)})
	if err != nil || moved {
		t.Fatalf("artifact: moved=%v err=%v", moved, err)
	}
	// Another caller's change never takes the task over.
	other := who
	other.User = "mallory"
	got, moved, err = s.Apply(ctx, Change{Task: other, Update: json.RawMessage(
		`{"kind":"status-update","taskId":"t-1","contextId":"c-1","final":true,"status":{"state":"completed","message":{"kind":"message","messageId":"m2","role":"agent","parts":[{"kind":"text","text":"done"}]}}}`)})
	if err != nil || !moved || got.State != attach.TaskCompleted || got.User != "alice" {
		t.Fatalf("final: %+v moved=%v err=%v", got, moved, err)
	}
	if text := ResultText(got.Snapshot); text != "func main() {}" {
		t.Errorf("result text = %q", text)
	}

	read, err := s.Get(ctx, team, "coder", "t-1")
	if err != nil || read.ID != got.ID || read.State != attach.TaskCompleted {
		t.Fatalf("get: %+v %v", read, err)
	}
	events, err := s.Events(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range events {
		if e.State != "" {
			states = append(states, e.State)
		}
	}
	if len(events) != 3 || len(states) != 2 || states[0] != "submitted" || states[1] != "completed" {
		t.Errorf("events = %+v", events)
	}
	if MessageText(events[0].Message) != "write it" || MessageText(events[2].Message) != "done" {
		t.Errorf("event messages = %s / %s", events[0].Message, events[2].Message)
	}
}

func TestStoreKeepsTeamsApart(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	who := attach.Task{TeamID: team, AgentName: "coder", User: "alice", TaskID: "t-1"}
	if _, _, err := s.Apply(ctx, Change{Task: who}); err != nil {
		t.Fatal(err)
	}
	otherTeam, _ := attach.NewID()
	for _, c := range []struct{ team, agent, id string }{
		{otherTeam, "coder", "t-1"}, {team, "planner", "t-1"}, {team, "coder", "t-2"},
	} {
		if _, err := s.Get(ctx, c.team, c.agent, c.id); err == nil {
			t.Errorf("Get(%v) found a task", c)
		}
	}
	list, next, err := s.List(ctx, TaskFilter{TeamID: otherTeam})
	if err != nil || len(list) != 0 || next != "" {
		t.Errorf("another team's list = %v %q %v", list, next, err)
	}
}

func TestStoreListPages(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	for i, user := range []string{"alice", "bob", "alice", "alice"} {
		who := attach.Task{TeamID: team, AgentName: "coder", User: user, TaskID: "t-" + string(rune('a'+i))}
		if _, _, err := s.Apply(ctx, Change{Task: who}); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := s.List(ctx, TaskFilter{TeamID: team, User: "alice", Limit: 2})
	if err != nil || len(page) != 2 || next == "" || page[0].TaskID != "t-d" {
		t.Fatalf("page 1 = %v %q %v", page, next, err)
	}
	page, next, err = s.List(ctx, TaskFilter{TeamID: team, User: "alice", Limit: 2, After: next})
	if err != nil || len(page) != 1 || next != "" || page[0].TaskID != "t-a" {
		t.Fatalf("page 2 = %v %q %v", page, next, err)
	}
	if _, _, err := s.List(ctx, TaskFilter{TeamID: team, Limit: 500}); err == nil {
		t.Error("limit 500 accepted")
	}
}

func TestApplyUpdateAppendsArtifactParts(t *testing.T) {
	snap := json.RawMessage(`{"kind":"task","id":"t","status":{"state":"working"},"artifacts":[{"artifactId":"a","parts":[{"kind":"text","text":"one"}]}]}`)
	got, err := applyUpdate(snap, json.RawMessage(`{"kind":"artifact-update","taskId":"t","append":true,"artifact":{"artifactId":"a","parts":[{"kind":"text","text":"two"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if text := ResultText(got); text != "one\ntwo" {
		t.Errorf("appended artifact text = %q", text)
	}
	if _, err := applyUpdate(snap, json.RawMessage(`{"kind":"nonsense"}`)); err == nil {
		t.Error("an unknown update was applied")
	}
}
