package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Delivery is how a message handed to an agent ended.
type Delivery struct {
	// State is the task's final state (0.3 names), or "completed" when
	// the agent answered with a plain message.
	State string
	// Result is the agent's last word in 0.3's shape: the task, or the
	// message it answered with.
	Result json.RawMessage
	// Reason says why the task did not complete.
	Reason string
}

// Completed reports whether the agent did the work.
func (d Delivery) Completed() bool { return d.State == attach.TaskCompleted }

// TransientError is an agent that could not be reached, or failed in a
// way worth trying again (a 5xx, an answer that broke off).
type TransientError struct{ Reason string }

func (e *TransientError) Error() string { return e.Reason }

// DeliverOptions tune one Deliver.
type DeliverOptions struct {
	// Resume is the agent's id of a task an earlier attempt started: it is
	// followed to its end instead of sending the message again.
	Resume string
	// Final says this is the last attempt: an agent out of reach then
	// fails the task (recorded so) instead of returning a TransientError.
	Final bool
	// Started is told the agent's task id as soon as the agent names it.
	Started func(taskID string)
	// PollEvery is the longest wait between two reads of a running task
	// (default 5 s; the first reads come sooner).
	PollEvery time.Duration
}

// Deliver sends msg (an A2A 0.3 message) to agent as caller, blocking,
// and follows the task the agent starts until it ends or asks for input.
// The task is recorded and mirrored as any relayed task is. A failure of
// the agent's (a refusal, a failed task) is a Delivery, not an error; the
// error is a *TransientError, or ctx's.
func (r *Relay) Deliver(ctx context.Context, agent attach.Agent, caller Caller, msg json.RawMessage, opts DeliverOptions) (Delivery, error) {
	call := Call{Agent: agent, Caller: caller, Version: V03, Method: MethodSend}
	if perr := r.tooDeep(call); perr != nil {
		return Delivery{State: attach.TaskRejected, Reason: perr.Message}, nil
	}
	taskID := opts.Resume
	if taskID == "" {
		d, id, err := r.deliverOnce(ctx, call, msg, opts.Final)
		if err != nil || id == "" || d.State != "" {
			return d, err
		}
		taskID = id
		if opts.Started != nil {
			opts.Started(taskID)
		}
	}
	return r.follow(ctx, call, taskID, opts.PollEvery)
}

// deliverOnce sends the message. It returns a Delivery when the answer
// ends the exchange, else the id of the task still running.
func (r *Relay) deliverOnce(ctx context.Context, call Call, msg json.RawMessage, final bool) (Delivery, string, error) {
	params, err := json.Marshal(map[string]any{"message": msg, "configuration": map[string]any{"blocking": true}})
	if err != nil {
		return Delivery{}, "", err
	}
	id, err := attach.NewID()
	if err != nil {
		return Delivery{}, "", err
	}
	call.Request = Request{JSONRPC: JSONRPCVersion, ID: json.RawMessage(`"` + id + `"`), Method: WireName(V03, MethodSend), Params: params}
	agentParams, err := TranslateParams(V03, call.agentVersion(), MethodSend, params)
	if err != nil {
		return Delivery{State: attach.TaskFailed, Reason: "the message cannot be sent: " + err.Error()}, "", nil
	}
	// The hand-off is recorded before the agent sees it, as a relayed
	// send's is.
	if call.handoff, err = attach.NewID(); err != nil {
		return Delivery{}, "", err
	}
	opened := r.open(ctx, call, msg)
	cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	resp, err := r.unary(cctx, call, WireName(call.agentVersion(), MethodSend), agentParams)
	cancel()
	call.opened = opened()
	if err != nil {
		var ue *upstreamError
		switch {
		case ctx.Err() != nil:
			r.discard(ctx, call)
			return Delivery{}, "", ctx.Err()
		case !final && errors.As(err, &ue) && !strings.HasPrefix(ue.reason, "the agent answered HTTP 4"):
			// Tried again as a new hand-off: this one never reached the
			// agent's work.
			r.discard(ctx, call)
			return Delivery{}, "", &TransientError{Reason: ue.reason}
		}
		return r.failedDelivery(ctx, call, msg, err), "", nil
	}
	if resp.Error != nil {
		// No task, nothing to keep, as for a relayed send.
		r.discard(ctx, call)
		return Delivery{State: attach.TaskFailed, Reason: "the agent refused the message: " + resp.Error.Message}, "", nil
	}
	res03, err := TranslateResult(call.agentVersion(), V03, MethodSend, resp.Result)
	if err != nil {
		return r.failedDelivery(ctx, call, msg, &upstreamError{"the agent's answer is not a task or message: " + err.Error()}), "", nil
	}
	r.recordResult(ctx, call, msg, res03)
	o, err := ReadOutcome(V03, MethodSend, res03)
	if err != nil {
		return Delivery{State: attach.TaskFailed, Reason: "the agent's answer cannot be read: " + err.Error()}, "", nil
	}
	if len(o.Task) == 0 {
		return Delivery{State: attach.TaskCompleted, Result: res03}, "", nil
	}
	if Terminal(o.State) || Interrupted(o.State) {
		return ended(o.State, res03), "", nil
	}
	return Delivery{}, o.TaskID, nil
}

// failedDelivery records the task as failed by the gateway, as a relayed
// send the agent did not take is.
func (r *Relay) failedDelivery(ctx context.Context, call Call, msg json.RawMessage, cause error) Delivery {
	resp := r.failedSend(ctx, call, msg, nil, cause)
	return Delivery{State: attach.TaskFailed, Result: resp.Result, Reason: cause.Error()}
}

// follow reads the task, from Postgres and its agent as tasks/get does,
// until it ends.
func (r *Relay) follow(ctx context.Context, call Call, taskID string, most time.Duration) (Delivery, error) {
	if most <= 0 {
		most = 5 * time.Second
	}
	params, _ := json.Marshal(map[string]string{"id": taskID})
	call.Method = MethodGetTask
	call.Request = Request{JSONRPC: JSONRPCVersion, ID: json.RawMessage(`"follow"`), Method: WireName(V03, MethodGetTask), Params: params}
	wait := min(250*time.Millisecond, most)
	for {
		resp := r.Do(ctx, call)
		if resp.Error != nil && resp.Error.Code == CodeTaskNotFound {
			return Delivery{State: attach.TaskFailed, Reason: "the agent's task " + taskID + " is not known to the gateway"}, nil
		}
		if resp.Error == nil {
			var t struct {
				Status struct {
					State string `json:"state"`
				} `json:"status"`
			}
			if json.Unmarshal(resp.Result, &t) == nil && (Terminal(t.Status.State) || Interrupted(t.Status.State)) {
				return ended(t.Status.State, resp.Result), nil
			}
		}
		select {
		case <-ctx.Done():
			return Delivery{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, most)
	}
}

// ended is the Delivery of a task in a final or interrupted state.
func ended(state string, snap json.RawMessage) Delivery {
	d := Delivery{State: state, Result: snap}
	switch {
	case state == attach.TaskCompleted:
	case Interrupted(state):
		d.Reason = "the agent asks for more (" + state + "), which a queued task cannot give"
	default:
		d.Reason = ResultText(snap)
		if d.Reason == "" {
			d.Reason = "the agent's task ended " + state
		}
	}
	return d
}
