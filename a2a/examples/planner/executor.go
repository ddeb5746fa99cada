package planner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/a2aproject/a2a-go/a2asrv"
	"github.com/a2aproject/a2a-go/a2asrv/eventqueue"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// executor is the planner's work, run by the SDK for each message.
type executor struct{ cfg Config }

func (e *executor) Execute(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	if rc.StoredTask == nil {
		if err := q.Write(ctx, a2a.NewSubmittedTask(rc, rc.Message)); err != nil {
			return err
		}
	}
	goal := strings.TrimSpace(messageText(rc.Message))
	if goal == "" {
		return q.Write(ctx, status(rc, a2a.TaskStateFailed, "send a goal as text, e.g. \"build a hello world\""))
	}
	token := header(ctx, callback.HeaderToken)
	if token == "" {
		return q.Write(ctx, status(rc, a2a.TaskStateFailed, "no delegation token (X-Attach-Token): the planner is called through the gateway"))
	}

	plan := makePlan(goal)
	// The note is filed under the planner's task, so the task's memory
	// shows the plan beside what was sent and answered.
	memID, err := e.cfg.Gateway.AddNote(ctx, token, plan, string(rc.TaskID))
	if err != nil {
		return e.fail(ctx, rc, q, err)
	}
	if err := q.Write(ctx, status(rc, a2a.TaskStateWorking, "plan stored as "+memID+"; handing it to "+e.cfg.Coder)); err != nil {
		return err
	}
	answer, coderTask, err := e.handOff(ctx, token, memID)
	if err != nil {
		return e.fail(ctx, rc, q, err)
	}
	art := a2a.NewArtifactEvent(rc, a2a.TextPart{Text: answer})
	art.Artifact.Name = "code"
	art.Artifact.Metadata = map[string]any{"mem_id": memID, "coder_task": coderTask}
	art.LastChunk = true
	if err := q.Write(ctx, art); err != nil {
		return err
	}
	return q.Write(ctx, status(rc, a2a.TaskStateCompleted, answer))
}

func (e *executor) Cancel(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	return q.Write(ctx, status(rc, a2a.TaskStateCanceled, "canceled"))
}

// fail ends the task failed, with the reason for the caller to read.
func (e *executor) fail(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue, err error) error {
	e.cfg.Logger.Warn("planner: task failed", "task", rc.TaskID, "err", err)
	return q.Write(ctx, status(rc, a2a.TaskStateFailed, err.Error()))
}

// makePlan writes the plan for a goal. It is deliberately plain: the
// demo is about the hand-off, and the engine does the writing.
func makePlan(goal string) string {
	return "Plan for: " + goal + "\n" +
		"1. Choose the smallest program that does it, in Go unless the goal names a language.\n" +
		"2. Write it as one file with a main function.\n" +
		"3. Say how to run it and what it prints.\n"
}

// handOff sends the coder {"mem_id": memID} through the gateway as the
// same user (the delegation token) and returns its answer and task id.
func (e *executor) handOff(ctx context.Context, token, memID string) (answer, taskID string, err error) {
	httpClient := &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
	client, err := a2aclient.NewFromEndpoints(ctx,
		[]a2a.AgentInterface{{Transport: a2a.TransportProtocolJSONRPC, URL: e.cfg.Gateway.AgentURL(e.cfg.Coder)}},
		a2aclient.WithJSONRPCTransport(httpClient))
	if err != nil {
		return "", "", fmt.Errorf("client for the coder: %w", err)
	}
	defer client.Destroy()
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.DataPart{Data: map[string]any{"mem_id": memID}})
	res, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: msg})
	if err != nil {
		return "", "", fmt.Errorf("hand the plan to %s: %w", e.cfg.Coder, err)
	}
	switch r := res.(type) {
	case *a2a.Task:
		if r.Status.State != a2a.TaskStateCompleted {
			return "", string(r.ID), fmt.Errorf("%s's task %s ended %s: %s", e.cfg.Coder, r.ID, r.Status.State, messageText(r.Status.Message))
		}
		var b strings.Builder
		for _, a := range r.Artifacts {
			for _, p := range a.Parts {
				if tp, ok := p.(a2a.TextPart); ok {
					b.WriteString(tp.Text)
				}
			}
		}
		if b.Len() == 0 {
			b.WriteString(messageText(r.Status.Message))
		}
		return b.String(), string(r.ID), nil
	case *a2a.Message:
		return messageText(r), "", nil
	}
	return "", "", errors.New(e.cfg.Coder + " answered neither a task nor a message")
}

// bearer adds the delegation token to every request to the gateway.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// header reads one of the request's headers from the SDK's call context.
func header(ctx context.Context, name string) string {
	cc, ok := a2asrv.CallContextFrom(ctx)
	if !ok {
		return ""
	}
	v, ok := cc.RequestMeta().Get(name)
	if !ok || len(v) == 0 {
		return ""
	}
	return v[0]
}

// status is a status update with an agent message; terminal states are
// marked final, which is what ends the SDK's execution.
func status(rc *a2asrv.RequestContext, state a2a.TaskState, text string) *a2a.TaskStatusUpdateEvent {
	msg := a2a.NewMessageForTask(a2a.MessageRoleAgent, rc, a2a.TextPart{Text: text})
	ev := a2a.NewStatusUpdateEvent(rc, state, msg)
	ev.Final = state.Terminal()
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
