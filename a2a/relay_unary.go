package a2a

import (
	"context"
	"encoding/json"
	"errors"

	attach "github.com/attach-dev/attach-gateway"
)

// Do answers a method that is not a stream. The answer is always a
// JSON-RPC response for the client, in its version: an agent that is down,
// slow or confused becomes an error or a failed task, never a hang.
func (r *Relay) Do(ctx context.Context, call Call) Response {
	if perr := r.tooDeep(call); perr != nil {
		return call.fail(perr)
	}
	switch call.Method {
	case MethodSend:
		return r.send(ctx, call)
	case MethodGetTask:
		return r.getTask(ctx, call)
	case MethodCancelTask:
		return r.cancelTask(ctx, call)
	case MethodListTasks:
		return r.listTasks(ctx, call)
	case MethodPushSet, MethodPushGet, MethodPushList, MethodPushDelete:
		// Push notifications would have the gateway call URLs of the
		// client's choosing: not offered, and the card says so.
		return call.fail(rpcErr(CodePushNotSupported, "push notifications are not supported by the gateway"))
	}
	return call.fail(rpcErr(CodeUnsupportedOperation, "%s is not supported by the gateway", call.Request.Method))
}

// inbound reads the message the client sends, in 0.3's shape.
func inbound(call Call) (json.RawMessage, *RPCError) {
	p, err := TranslateParams(call.Version, "0.3", call.Method, call.Request.Params)
	if err != nil {
		return nil, rpcErr(CodeInvalidParams, "invalid params: %v", err)
	}
	var params struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(p, &params); err != nil || len(params.Message) == 0 || string(params.Message) == "null" {
		return nil, rpcErr(CodeInvalidParams, "invalid params: a message is required")
	}
	return params.Message, nil
}

// messageRef is what a 0.3 message says about the task it belongs to.
type messageRef struct {
	Kind      string `json:"kind"`
	TaskID    string `json:"taskId"`
	ContextID string `json:"contextId"`
	ID        string `json:"id"` // a task's
}

func refOf(b json.RawMessage) messageRef {
	var m messageRef
	_ = json.Unmarshal(b, &m)
	return m
}

// owned finds a task of the call's agent that the caller may see. Any
// other (another team's, another user's, never relayed) is not found:
// the caller learns nothing of it.
func (r *Relay) owned(ctx context.Context, call Call, taskID string) (StoredTask, *RPCError) {
	t, err := r.cfg.Store.Get(ctx, call.Caller.TeamID, call.Agent.Name, taskID)
	if err == nil && t.User != call.Caller.User {
		err = attach.NotFound("task")
	}
	if err != nil {
		var ae *attach.Error
		if errors.As(err, &ae) && ae.Code == attach.CodeNotFound {
			return StoredTask{}, rpcErr(CodeTaskNotFound, "task not found")
		}
		r.log.Error("a2a: read task", "team", call.Caller.TeamID, "err", err)
		return StoredTask{}, rpcErr(CodeInternal, "the task store is not available")
	}
	return t, nil
}

func (r *Relay) send(ctx context.Context, call Call) Response {
	msg, perr := inbound(call)
	if perr != nil {
		return call.fail(perr)
	}
	ref := refOf(msg)
	var err error
	var parent *StoredTask
	opened := func() bool { return false }
	if ref.TaskID != "" {
		t, perr := r.owned(ctx, call, ref.TaskID)
		if perr != nil {
			return call.fail(perr)
		}
		parent = &t
		call.handoff = t.ID
	} else {
		if call.handoff, err = attach.NewID(); err != nil {
			return call.fail(rpcErr(CodeInternal, "internal error"))
		}
	}
	params, err := TranslateParams(call.Version, call.agentVersion(), MethodSend, call.Request.Params)
	if err != nil {
		return call.fail(rpcErr(CodeInvalidParams, "invalid params: %v", err))
	}
	if parent == nil {
		opened = r.open(ctx, call, msg)
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	resp, err := r.unary(cctx, call, WireName(call.agentVersion(), MethodSend), params)
	call.opened = opened()
	if err != nil {
		return r.failedSend(ctx, call, msg, parent, err)
	}
	if resp.Error != nil {
		// The agent refused the message: no task, nothing to keep.
		r.discard(ctx, call)
		return call.fail(TranslateError(call.agentVersion(), call.Version, resp.Error))
	}
	res03, err := TranslateResult(call.agentVersion(), "0.3", MethodSend, resp.Result)
	if err != nil {
		return r.failedSend(ctx, call, msg, parent, &upstreamError{"the agent's answer is not a task or message: " + err.Error()})
	}
	r.recordResult(ctx, call, msg, res03)
	out, err := TranslateResult(call.agentVersion(), call.Version, MethodSend, resp.Result)
	if err != nil {
		return call.fail(rpcErr(CodeInvalidAgentResponse, "the agent's answer cannot be translated: %v", err))
	}
	return call.reply(out)
}

// recordResult records what a send's result (0.3 shape) says: a task is
// created or moved on; a message that belongs to a task joins its story.
func (r *Relay) recordResult(ctx context.Context, call Call, input, res03 json.RawMessage) {
	ref := refOf(res03)
	ch := Change{Task: r.taskOf(call), Messages: call.inputs(input)}
	switch ref.Kind {
	case "task":
		ch.Task.TaskID, ch.Task.ContextID, ch.Snapshot = ref.ID, ref.ContextID, res03
	case "message":
		if ref.TaskID == "" {
			// A plain answer, no task: memory keeps the exchange, the
			// task store nothing.
			r.discard(ctx, call)
			r.mirror(call, "", attach.KindTaskSent, "user", MessageText(input))
			r.mirror(call, "", attach.KindTaskResult, "agent", MessageText(res03))
			return
		}
		ch.Task.TaskID, ch.Task.ContextID = ref.TaskID, ref.ContextID
		ch.Messages = append(ch.Messages, res03)
	default:
		return
	}
	r.mirror(call, ch.Task.TaskID, attach.KindTaskSent, "user", MessageText(input))
	r.apply(ctx, call, ch)
}

// apply records a change, and mirrors a task's result into memory when it
// has just finished. A failure is logged; the client still gets the
// agent's answer.
func (r *Relay) apply(ctx context.Context, call Call, ch Change) {
	t, moved, err := r.cfg.Store.Apply(context.WithoutCancel(ctx), ch)
	if err != nil {
		r.log.Error("a2a: task not recorded", "team", call.Caller.TeamID, "agent", call.Agent.Name, "task", ch.Task.TaskID, "err", err)
		return
	}
	if moved && attach.TaskTerminal(t.State) {
		r.mirror(call, t.TaskID, attach.KindTaskResult, "agent", resultOrReason(t))
	}
}

func resultOrReason(t StoredTask) string {
	if s := ResultText(t.Snapshot); s != "" {
		return s
	}
	return t.Reason
}

// discard removes the row open made for a hand-off that did not become a
// task.
func (r *Relay) discard(ctx context.Context, call Call) {
	if !call.opened {
		return
	}
	if err := r.cfg.Store.Discard(context.WithoutCancel(ctx), call.Caller.TeamID, call.handoff); err != nil {
		r.log.Error("a2a: opened hand-off not discarded", "team", call.Caller.TeamID, "err", err)
	}
}

// taskOf is the task row a call would create: who asked, through which
// agent.
func (r *Relay) taskOf(call Call) attach.Task {
	return attach.Task{
		ID: call.handoff, TeamID: call.Caller.TeamID, AgentID: call.Agent.ID, AgentName: call.Agent.Name,
		User: call.Caller.User, Session: call.Caller.Session, ParentID: call.Caller.ParentTask,
	}
}

// failedSend answers a send the agent did not take: the task (the one the
// message continues, or a new one the gateway names) is failed with the
// reason, and the client gets that task.
func (r *Relay) failedSend(ctx context.Context, call Call, msg json.RawMessage, cont *StoredTask, cause error) Response {
	reason := cause.Error()
	t := r.taskOf(call)
	ch := Change{Messages: call.inputs(msg)}
	if cont != nil {
		// The task goes on with the rest of its story; only its status
		// changes.
		t.TaskID, t.ContextID = cont.TaskID, cont.ContextID
		ch.Update = failedUpdate(t.TaskID, t.ContextID, reason)
	} else {
		id := call.handoff
		t.TaskID, t.ContextID = id, refOf(msg).ContextID
		if t.ContextID == "" {
			t.ContextID = id
		}
	}
	t.State, t.Reason = attach.TaskFailed, reason
	ch.Task = t
	snap := failedSnapshot(t, reason)
	if cont == nil {
		ch.Snapshot = snap
	}
	r.mirror(call, t.TaskID, attach.KindTaskSent, "user", MessageText(msg))
	stored, _, err := r.cfg.Store.Apply(context.WithoutCancel(ctx), ch)
	if err != nil {
		r.log.Error("a2a: failed task not recorded", "team", call.Caller.TeamID, "agent", call.Agent.Name, "err", err)
	} else {
		snap = stored.Snapshot
	}
	r.mirror(call, t.TaskID, attach.KindTaskResult, "gateway", reason)
	out, err := TranslateResult("0.3", call.Version, MethodSend, snap)
	if err != nil {
		return call.fail(rpcErr(CodeInternal, "%s", reason))
	}
	return call.reply(out)
}

// failedSnapshot is a 0.3 task failed by the gateway, its status message
// saying why.
func failedSnapshot(t attach.Task, reason string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"kind": "task", "id": t.TaskID, "contextId": t.ContextID,
		"status": map[string]any{"state": attach.TaskFailed, "message": gatewayMessage(t.TaskID, t.ContextID, reason)},
	})
	return b
}

// gatewayMessage is a 0.3 agent message the gateway writes into a task: why
// it failed.
func gatewayMessage(taskID, contextID, text string) map[string]any {
	msgID, _ := attach.NewID()
	return map[string]any{
		"kind": "message", "messageId": msgID, "role": "agent", "taskId": taskID, "contextId": contextID,
		"parts": []any{map[string]any{"kind": "text", "text": text}},
	}
}

// namedTask finds the task a task method (get, cancel, subscribe) names,
// among those the caller may see.
func (r *Relay) namedTask(ctx context.Context, call Call) (StoredTask, *RPCError) {
	id := TaskIDOf(call.Version, call.Method, call.Request.Params)
	if id == "" {
		return StoredTask{}, rpcErr(CodeInvalidParams, "invalid params: a task id is required")
	}
	return r.owned(ctx, call, id)
}

// replyTask answers with a task kept in 0.3's shape.
func (c Call) replyTask(snap json.RawMessage) Response {
	out, err := TranslateResult("0.3", c.Version, MethodGetTask, snap)
	if err != nil {
		return c.fail(rpcErr(CodeInternal, "the task cannot be translated"))
	}
	return c.reply(out)
}

// getTask answers from Postgres. A task still running is first asked of
// its agent, briefly, so the answer is fresh; an agent that is down or slow
// leaves the stored task as the answer.
func (r *Relay) getTask(ctx context.Context, call Call) Response {
	t, perr := r.namedTask(ctx, call)
	if perr != nil {
		return call.fail(perr)
	}
	snap := t.Snapshot
	call.handoff = t.ID
	if !attach.TaskTerminal(t.State) {
		if fresh, perr := r.relayTaskCall(ctx, call, MethodGetTask, t.TaskID); perr == nil {
			snap = fresh
		}
	}
	return call.replyTask(snap)
}

// relayTaskCall relays a task read or cancel, records the task the agent
// answers, and returns it in 0.3's shape; an agent's error is returned
// for the client.
func (r *Relay) relayTaskCall(ctx context.Context, call Call, m Method, taskID string) (json.RawMessage, *RPCError) {
	params, err := TranslateParams(call.Version, call.agentVersion(), m, call.Request.Params)
	if err != nil {
		return nil, rpcErr(CodeInvalidParams, "invalid params: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ReadTimeout)
	defer cancel()
	resp, err := r.unary(cctx, call, WireName(call.agentVersion(), m), params)
	if err != nil {
		return nil, rpcErr(CodeInternal, "%s", err.Error())
	}
	if resp.Error != nil {
		return nil, TranslateError(call.agentVersion(), call.Version, resp.Error)
	}
	snap, err := TranslateResult(call.agentVersion(), "0.3", m, resp.Result)
	if err != nil || refOf(snap).Kind != "task" || refOf(snap).ID != taskID {
		return nil, rpcErr(CodeInvalidAgentResponse, "the agent did not answer with the task")
	}
	ch := Change{Task: r.taskOf(call), Snapshot: snap}
	ch.Task.TaskID = taskID
	r.apply(ctx, call, ch)
	return snap, nil
}

// cancelTask relays a cancel to the agent; the task it answers is
// recorded and returned.
func (r *Relay) cancelTask(ctx context.Context, call Call) Response {
	t, perr := r.namedTask(ctx, call)
	if perr != nil {
		return call.fail(perr)
	}
	if attach.TaskTerminal(t.State) {
		return call.fail(rpcErr(CodeTaskNotCancelable, "task is %s and cannot be canceled", t.State))
	}
	call.handoff = t.ID
	snap, perr := r.relayTaskCall(ctx, call, MethodCancelTask, t.TaskID)
	if perr != nil {
		return call.fail(perr)
	}
	return call.replyTask(snap)
}

// mirror queues one memory event of the call's team.
func (r *Relay) mirror(call Call, taskID, kind, role, content string) {
	if r.cfg.Memory == nil || content == "" {
		return
	}
	id, err := attach.NewID()
	if err != nil {
		return
	}
	r.cfg.Memory.RecordEvents(call.Caller.TeamID, []attach.Event{{
		ID: id, TeamID: call.Caller.TeamID, User: call.Caller.User, Session: call.Caller.Session,
		Kind: kind, Role: role, Engine: call.Agent.Name, Content: content, TaskID: taskID,
	}})
}

// tooDeep refuses a call that would hand work one agent deeper than
// allowed: agents calling each other in a loop end here.
func (r *Relay) tooDeep(call Call) *RPCError {
	if call.Caller.Depth < r.cfg.MaxDepth {
		return nil
	}
	return rpcErr(CodeInvalidRequest, "delegation depth limit reached: %d agents deep (limit %d); are agents calling each other in a loop?",
		call.Caller.Depth, r.cfg.MaxDepth)
}
