package app

import (
	"context"
	"encoding/json"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/console"
)

// consoleTasks serves the console's tasks pages from the A2A task store,
// turning its A2A messages into the text and roles the pages show, so the
// console needs no A2A of its own.
type consoleTasks struct{ store *a2a.Store }

var _ console.TaskReader = consoleTasks{}

func (c consoleTasks) ListTasks(ctx context.Context, q console.TaskQuery) ([]attach.Task, string, error) {
	list, next, err := c.store.List(ctx, a2a.TaskFilter{
		TeamID: q.TeamID, AgentName: q.Agent, User: q.User, State: q.State, Limit: q.Limit, After: q.After,
	})
	if err != nil {
		return nil, "", err
	}
	return plainTasks(list), next, nil
}

func (c consoleTasks) Task(ctx context.Context, teamID, id string) (console.TaskDetail, error) {
	t, err := c.store.GetByID(ctx, teamID, id)
	if err != nil {
		return console.TaskDetail{}, err
	}
	events, err := c.store.Events(ctx, t.ID)
	if err != nil {
		return console.TaskDetail{}, err
	}
	d := console.TaskDetail{Task: t.Task, Steps: make([]console.TaskStep, 0, len(events))}
	for _, e := range events {
		step := console.TaskStep{At: e.At, State: e.State}
		if len(e.Message) > 0 {
			step.Role, step.Text = messageRole(e.Message), a2a.MessageText(e.Message)
		}
		d.Steps = append(d.Steps, step)
	}
	if attach.TaskTerminal(t.State) {
		d.Result = a2a.ResultText(t.Snapshot)
	}
	return d, nil
}

func (c consoleTasks) FindTask(ctx context.Context, teamID, agent, taskID string) (attach.Task, error) {
	t, err := c.store.Get(ctx, teamID, agent, taskID)
	return t.Task, err
}

func (c consoleTasks) TaskTree(ctx context.Context, teamID, id string) ([]attach.Task, error) {
	tree, err := c.store.Tree(ctx, teamID, id)
	if err != nil {
		return nil, err
	}
	return plainTasks(tree), nil
}

func plainTasks(stored []a2a.StoredTask) []attach.Task {
	out := make([]attach.Task, len(stored))
	for i, t := range stored {
		out[i] = t.Task
	}
	return out
}

// messageRole is who sent a stored (A2A 0.3) message: "user" or "agent".
func messageRole(msg json.RawMessage) string {
	var m struct {
		Role string `json:"role"`
	}
	_ = json.Unmarshal(msg, &m) // a message without a role shows none
	return m.Role
}
