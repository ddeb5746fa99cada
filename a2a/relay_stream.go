package a2a

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Emit writes one JSON-RPC response to the client as a server-sent event
// and flushes it. An error means the client has gone.
type Emit func(Response) error

// Stream answers message/stream (SendStreamingMessage) and
// tasks/resubscribe (SubscribeToTask): each event of the agent's stream is
// translated and passed on as it arrives, then recorded. A client that
// leaves cancels nothing: the gateway keeps reading the agent's stream to
// its end, so the task's record stays whole. ctx must outlive the client's
// request (it bounds the whole relay, not the client's patience).
func (r *Relay) Stream(ctx context.Context, call Call, emit Emit) {
	s := &streamState{call: call, emit: emit}
	if perr := r.tooDeep(call); perr != nil {
		s.send(call.fail(perr))
		return
	}
	switch call.Method {
	case MethodStream:
		msg, perr := inbound(call)
		if perr != nil {
			s.send(call.fail(perr))
			return
		}
		s.input = msg
		if ref := refOf(msg); ref.TaskID != "" {
			t, perr := r.owned(ctx, call, ref.TaskID)
			if perr != nil {
				s.send(call.fail(perr))
				return
			}
			s.known(t)
		}
	case MethodSubscribe:
		t, perr := r.namedTask(ctx, call)
		if perr != nil {
			s.send(call.fail(perr))
			return
		}
		s.known(t)
		if attach.TaskTerminal(t.State) {
			// Nothing more will happen: the stored task is the story.
			s.sendTask(t.Snapshot, true)
			return
		}
	default:
		s.send(call.fail(rpcErr(CodeMethodNotFound, "method not found")))
		return
	}
	params, err := TranslateParams(call.Version, call.agentVersion(), call.Method, call.Request.Params)
	if err != nil {
		s.send(call.fail(rpcErr(CodeInvalidParams, "invalid params: %v", err)))
		return
	}
	if s.call.handoff == "" {
		if s.call.handoff, err = attach.NewID(); err != nil {
			s.send(call.fail(rpcErr(CodeInternal, "internal error")))
			return
		}
		if s.input != nil {
			s.opened = r.open(ctx, s.call, s.input)
			defer r.dropUnnamed(ctx, s)
		}
	}
	call = s.call
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The stream may run as long as events keep coming; a silent agent is
	// given up after the idle timeout.
	idle := time.AfterFunc(r.cfg.StreamIdleTimeout, cancel)
	defer idle.Stop()
	resp, err := r.post(sctx, call, WireName(call.agentVersion(), call.Method), params, "text/event-stream")
	if err != nil {
		r.endFailed(ctx, s, err.Error())
		return
	}
	defer resp.Body.Close()
	if !isSSE(resp.Header.Get("Content-Type")) {
		// An agent that cannot stream (or refuses the call) answers with
		// one JSON-RPC response.
		b, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxAnswerBytes))
		if err != nil {
			r.endFailed(ctx, s, "the agent's answer broke off: "+err.Error())
			return
		}
		r.event(ctx, s, b)
		if !s.final && s.failure == "" {
			r.endFailed(ctx, s, "the agent answered without a stream")
		}
		return
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	for !s.final && s.failure == "" {
		data, err := readSSE(rd, r.cfg.MaxAnswerBytes)
		if len(data) > 0 {
			idle.Reset(r.cfg.StreamIdleTimeout)
			r.event(ctx, s, data)
		}
		if err != nil {
			if s.final || s.failure != "" {
				return
			}
			reason := "the agent's stream ended before the task finished"
			switch {
			case sctx.Err() != nil && ctx.Err() == nil:
				reason = fmt.Sprintf("the agent sent nothing for %s", r.cfg.StreamIdleTimeout)
			case !errors.Is(err, io.EOF):
				reason = "the agent's stream broke off: " + err.Error()
			}
			r.endFailed(ctx, s, reason)
			return
		}
	}
}

// streamState is what one relayed stream has seen so far.
type streamState struct {
	call    Call
	emit    Emit
	gone    bool            // the client left; the agent's stream is still read
	input   json.RawMessage // the message sent (0.3), kept with the task
	taskID  string
	context string
	state   string
	final   bool
	failure string // set when the agent answered an error
	// opened waits for the hand-off's row (Relay.open); nil when the
	// stream continues a task already recorded.
	opened func() bool
}

// dropUnnamed removes the hand-off's row when the stream ended without
// the agent naming a task or the gateway failing one: the agent refused
// the call with an error, which the client has.
func (r *Relay) dropUnnamed(ctx context.Context, s *streamState) {
	s.settleOpen()
	if s.call.opened && s.taskID == "" && s.failure != "" {
		r.discard(ctx, s.call)
	}
}

// settleOpen waits for the hand-off's row before anything else about it
// is recorded.
func (s *streamState) settleOpen() {
	if s.opened != nil {
		s.call.opened = s.opened()
		s.opened = nil
	}
}

func (s *streamState) known(t StoredTask) {
	s.taskID, s.context, s.state = t.TaskID, t.ContextID, t.State
	s.call.handoff = t.ID
}

// send passes a response to the client unless it has gone.
func (s *streamState) send(resp Response) {
	if s.gone {
		return
	}
	if err := s.emit(resp); err != nil {
		s.gone = true
	}
}

// sendTask passes a stored task (0.3) to the client as an event. A 0.3
// client ends a stream only on a final status update, so one follows when
// the stream ends here.
func (s *streamState) sendTask(snap json.RawMessage, last bool) {
	ev, err := TranslateEvent("0.3", s.call.Version, snap)
	if err != nil {
		s.send(s.call.fail(rpcErr(CodeInternal, "the stored task cannot be translated")))
		return
	}
	s.send(s.call.reply(ev))
	if last && s.call.Version == "0.3" {
		var t struct {
			ID        string          `json:"id"`
			ContextID string          `json:"contextId"`
			Status    json.RawMessage `json:"status"`
		}
		if json.Unmarshal(snap, &t) == nil {
			b, _ := json.Marshal(map[string]any{"kind": "status-update", "taskId": t.ID, "contextId": t.ContextID,
				"status": t.Status, "final": true})
			s.send(s.call.reply(b))
		}
	}
}

// event handles one JSON-RPC response of the agent's stream: passed on
// first (so the client is not kept waiting on Postgres), then recorded;
// only the first event that names the task is recorded first.
func (r *Relay) event(ctx context.Context, s *streamState, data []byte) {
	call := s.call
	av := call.agentVersion()
	var resp Response
	if err := json.Unmarshal(data, &resp); err != nil || (resp.Error == nil && len(resp.Result) == 0) {
		r.endFailed(ctx, s, "the agent sent an event that is not JSON-RPC")
		return
	}
	if resp.Error != nil {
		s.failure = resp.Error.Message
		s.send(call.fail(TranslateError(av, call.Version, resp.Error)))
		return
	}
	ev03, err := TranslateEvent(av, "0.3", resp.Result)
	if err != nil {
		r.endFailed(ctx, s, "the agent sent an event that cannot be read: "+err.Error())
		return
	}
	out, err := TranslateEvent(av, call.Version, resp.Result)
	if err != nil {
		r.endFailed(ctx, s, "the agent sent an event that cannot be translated: "+err.Error())
		return
	}
	if s.taskID == "" {
		// The event that names the task is recorded before the client
		// sees it: whatever task id a client holds, Postgres knows, even
		// if this gateway dies the next moment.
		r.recordEvent(ctx, s, ev03)
		s.send(call.reply(out))
		return
	}
	s.send(call.reply(out))
	r.recordEvent(ctx, s, ev03)
}

// streamEvent is a 0.3 event as far as recording cares.
type streamEvent struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	TaskID    string `json:"taskId"`
	ContextID string `json:"contextId"`
	Final     bool   `json:"final"`
	Status    struct {
		State string `json:"state"`
	} `json:"status"`
}

func (r *Relay) recordEvent(ctx context.Context, s *streamState, ev03 json.RawMessage) {
	s.settleOpen()
	var ev streamEvent
	if json.Unmarshal(ev03, &ev) != nil {
		return
	}
	ch := Change{Task: r.taskOf(s.call)}
	switch ev.Kind {
	case "task":
		ch.Task.TaskID, ch.Task.ContextID, ch.Snapshot = ev.ID, ev.ContextID, ev03
	case "status-update", "artifact-update":
		ch.Task.TaskID, ch.Task.ContextID, ch.Update = ev.TaskID, ev.ContextID, ev03
	case "message":
		s.final = true // a message ends a stream
		if ev.TaskID == "" {
			r.discard(ctx, s.call)
			r.mirror(s.call, "", attach.KindTaskSent, "user", MessageText(s.input))
			r.mirror(s.call, "", attach.KindTaskResult, "agent", MessageText(ev03))
			return
		}
		ch.Task.TaskID, ch.Task.ContextID = ev.TaskID, ev.ContextID
		ch.Messages = []json.RawMessage{ev03}
	default:
		return
	}
	if ch.Task.TaskID == "" {
		return
	}
	if s.input != nil {
		// The first event of the task: the message sent is the next entry
		// of its story.
		ch.Messages = append(s.call.inputs(s.input), ch.Messages...)
		r.mirror(s.call, ch.Task.TaskID, attach.KindTaskSent, "user", MessageText(s.input))
		s.input = nil
	}
	s.taskID, s.context = ch.Task.TaskID, ch.Task.ContextID
	if ev.Status.State != "" {
		s.state = ev.Status.State
	}
	if ev.Final || attach.TaskTerminal(s.state) || s.state == attach.TaskInputRequired || s.state == attach.TaskAuthRequired {
		s.final = true
	}
	r.apply(ctx, s.call, ch)
}

// endFailed ends a stream the agent broke: the task (when there is one) is
// failed with the reason, and the client gets that as the stream's last
// event.
func (r *Relay) endFailed(ctx context.Context, s *streamState, reason string) {
	if s.final {
		return
	}
	s.final = true
	s.settleOpen()
	call := s.call
	if s.taskID == "" {
		// The agent never named a task: the gateway names one, so the
		// failure has a record and the client a task to show.
		id := call.handoff
		if id == "" {
			var err error
			if id, err = attach.NewID(); err != nil {
				s.send(call.fail(rpcErr(CodeInternal, "%s", reason)))
				return
			}
			call.handoff = id
		}
		t := r.taskOf(call)
		t.TaskID, t.ContextID, t.State, t.Reason = id, refOf(s.input).ContextID, attach.TaskFailed, reason
		if t.ContextID == "" {
			t.ContextID = id
		}
		snap := failedSnapshot(t, reason)
		msgs := call.inputs(s.input)
		if s.input != nil {
			r.mirror(call, id, attach.KindTaskSent, "user", MessageText(s.input))
		}
		if _, _, err := r.cfg.Store.Apply(context.WithoutCancel(ctx), Change{Task: t, Snapshot: snap, Messages: msgs}); err != nil {
			r.log.Error("a2a: failed task not recorded", "team", call.Caller.TeamID, "agent", call.Agent.Name, "err", err)
		}
		r.mirror(call, id, attach.KindTaskResult, "gateway", reason)
		s.sendTask(snap, true)
		return
	}
	upd := failedUpdate(s.taskID, s.context, reason)
	ch := Change{Task: r.taskOf(call), Update: upd}
	ch.Task.TaskID, ch.Task.ContextID, ch.Task.State, ch.Task.Reason = s.taskID, s.context, attach.TaskFailed, reason
	r.apply(ctx, call, ch)
	out, err := TranslateEvent("0.3", call.Version, upd)
	if err != nil {
		s.send(call.fail(rpcErr(CodeInternal, "%s", reason)))
		return
	}
	s.send(call.reply(out))
}

// failedUpdate is the final status update of a task the gateway failed.
func failedUpdate(taskID, contextID, reason string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"kind": "status-update", "taskId": taskID, "contextId": contextID, "final": true,
		"status": map[string]any{"state": attach.TaskFailed, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
			"message": gatewayMessage(taskID, contextID, reason)},
	})
	return b
}

// readSSE reads one server-sent event and returns its data (the data
// lines joined by newlines). Comments and other fields are skipped. An
// event over max bytes is an error.
func readSSE(rd *bufio.Reader, max int64) ([]byte, error) {
	var data []byte
	for {
		line, err := rd.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole, within the limit.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if int64(len(full)) > max {
					return nil, fmt.Errorf("an event is over %d bytes", max)
				}
				line, err = rd.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if err != nil && len(line) == 0 {
			return data, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if len(data) > 0 {
				return data, nil
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, v...)
			if int64(len(data)) > max {
				return nil, fmt.Errorf("an event is over %d bytes", max)
			}
		}
		if err != nil {
			return data, err
		}
	}
}

// firstSSEData is the data of the first event in a whole SSE body.
func firstSSEData(b []byte) ([]byte, bool) {
	data, _ := readSSE(bufio.NewReader(bytes.NewReader(b)), int64(len(b))+1)
	return data, len(data) > 0
}
