package a2a

import (
	"context"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestTreeFromAnyNode(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	add := func(agent, taskID, parent string) StoredTask {
		t.Helper()
		got, _, err := s.Apply(ctx, Change{Task: attach.Task{TeamID: team, AgentName: agent, User: "alice", TaskID: taskID, ParentID: parent}})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	root := add("planner", "p-1", "")
	coder := add("coder", "c-1", root.ID)
	tester := add("tester", "t-1", root.ID)
	deep := add("linter", "l-1", coder.ID)
	add("planner", "p-2", "") // another hand-off

	for _, from := range []StoredTask{root, coder, tester, deep} {
		tree, err := s.Tree(ctx, team, from.ID)
		if err != nil {
			t.Fatalf("tree of %s: %v", from.TaskID, err)
		}
		var ids []string
		for _, n := range tree {
			ids = append(ids, n.TaskID)
		}
		if len(ids) != 4 || ids[0] != "p-1" || ids[1] != "c-1" || ids[2] != "t-1" || ids[3] != "l-1" {
			t.Errorf("tree of %s = %v", from.TaskID, ids)
		}
	}

	// Another team's task is not found, nor is an id that is not one.
	otherTeam, _ := attach.NewID()
	for _, c := range []struct{ team, id string }{{otherTeam, root.ID}, {team, "nope"}, {team, otherTeam}} {
		if _, err := s.Tree(ctx, c.team, c.id); attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("Tree(%s, %s) err = %v, want not found", c.team, c.id, err)
		}
	}
}

func TestTreeSurvivesACycle(t *testing.T) {
	ctx := context.Background()
	s, team := newTestStore(t)
	a, _, err := s.Apply(ctx, Change{Task: attach.Task{TeamID: team, AgentName: "a", User: "u", TaskID: "a-1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.Apply(ctx, Change{Task: attach.Task{TeamID: team, AgentName: "b", User: "u", TaskID: "b-1", ParentID: a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	// No caller can make this; a bad row must still not hang a page.
	if _, err := s.pool.Exec(ctx, "UPDATE tasks SET parent_id = $1 WHERE id = $2", b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	tree, err := s.Tree(ctx, team, a.ID)
	if err != nil || len(tree) != 2 {
		t.Fatalf("tree = %v, %v", tree, err)
	}
}
