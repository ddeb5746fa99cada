package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
)

// listTasks answers ListTasks (1.0 only) from Postgres: the caller's tasks
// of this agent, newest first, without asking the agent.
func (r *Relay) listTasks(ctx context.Context, call Call) Response {
	var p struct {
		ContextID        string `json:"contextId"`
		Status           string `json:"status"`
		PageSize         *int   `json:"pageSize"`
		PageToken        string `json:"pageToken"`
		IncludeArtifacts *bool  `json:"includeArtifacts"`
	}
	if len(call.Request.Params) > 0 {
		if err := json.Unmarshal(call.Request.Params, &p); err != nil {
			return call.fail(rpcErr(CodeInvalidParams, "invalid params: %v", err))
		}
	}
	f := TaskFilter{
		TeamID: call.Caller.TeamID, AgentName: call.Agent.Name, User: call.Caller.User,
		ContextID: p.ContextID, After: p.PageToken,
	}
	if p.Status != "" && p.Status != "TASK_STATE_UNSPECIFIED" {
		if f.State = stateFromV1(p.Status); f.State == "" {
			return call.fail(rpcErr(CodeInvalidParams, "invalid params: unknown status %q", p.Status))
		}
	}
	if p.PageSize != nil {
		f.Limit = *p.PageSize
		if f.Limit == 0 {
			f.Limit = 50
		}
	}
	tasks, next, err := r.cfg.Store.List(ctx, f)
	if err != nil {
		var ae *attach.Error
		if errors.As(err, &ae) {
			return call.fail(rpcErr(CodeInvalidParams, "invalid params: %s", ae.Message))
		}
		r.log.Error("a2a: list tasks", "team", call.Caller.TeamID, "err", err)
		return call.fail(rpcErr(CodeInternal, "the task store is not available"))
	}
	out := make([]json.RawMessage, 0, len(tasks))
	for _, t := range tasks {
		snap := t.Snapshot
		if p.IncludeArtifacts == nil || !*p.IncludeArtifacts {
			snap = withoutArtifacts(snap)
		}
		v1, err := TranslateResult("0.3", "1.0", MethodGetTask, snap)
		if err != nil {
			r.log.Error("a2a: stored task cannot be translated", "task", t.ID, "err", err)
			continue
		}
		out = append(out, v1)
	}
	res, err := json.Marshal(map[string]any{
		"tasks": out, "nextPageToken": next, "pageSize": len(out), "totalSize": len(out),
	})
	if err != nil {
		return call.fail(rpcErr(CodeInternal, "internal error"))
	}
	return call.reply(res)
}

// stateFromV1 maps TASK_STATE_INPUT_REQUIRED to "input-required"; "" for
// a name that is not a state.
func stateFromV1(s string) string {
	name, ok := strings.CutPrefix(s, "TASK_STATE_")
	if !ok {
		return ""
	}
	st := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	switch st {
	case attach.TaskSubmitted, attach.TaskWorking, attach.TaskInputRequired, attach.TaskAuthRequired,
		attach.TaskCompleted, attach.TaskCanceled, attach.TaskFailed, attach.TaskRejected:
		return st
	}
	return ""
}

// withoutArtifacts drops a task's artifacts, which ListTasks leaves out
// unless asked.
func withoutArtifacts(snap json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(snap, &m) != nil {
		return snap
	}
	if _, ok := m["artifacts"]; !ok {
		return snap
	}
	delete(m, "artifacts")
	b, err := json.Marshal(m)
	if err != nil {
		return snap
	}
	return b
}
