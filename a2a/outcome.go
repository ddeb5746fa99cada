package a2a

import (
	"encoding/json"
	"fmt"
)

// Outcome describes one result or stream event: which task it concerns and
// what changed.
type Outcome struct {
	TaskID, ContextID string
	// State is the 0.3 state name, "" when the result or event carries none.
	State string
	// Final is true when a stream ends after it: a terminal or interrupted
	// state, a Message result, or a status update marked final.
	Final bool
	// Message is a message carried (a status message, or a Message result),
	// in 0.3 shape.
	Message json.RawMessage
	// Task is the whole task, in 0.3 shape, when the result or event is one.
	Task json.RawMessage
}

// ReadOutcome reads a result of method m, or one event of its stream, in
// version v. Methods whose results concern no task state (push configs,
// the agent card) give an empty Outcome.
func ReadOutcome(v string, m Method, resultOrEvent json.RawMessage) (Outcome, error) {
	if err := checkVersions(v, v); err != nil {
		return Outcome{}, err
	}
	switch m {
	case MethodSend, MethodStream, MethodSubscribe, MethodGetTask, MethodCancelTask:
	default:
		return Outcome{}, nil
	}
	tree, err := decode(resultOrEvent)
	if err != nil {
		return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
	}
	// Everything is read in the 0.3 shape, where each kind of object says
	// what it is; a 1.0 result or event is translated first.
	var e map[string]any
	if v == V10 {
		if m == MethodGetTask || m == MethodCancelTask {
			t, err := asObject(tree, "task")
			if err == nil {
				e, err = taskTo03(t)
			}
			if err != nil {
				return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
			}
		} else if e, err = eventTo03(tree); err != nil {
			return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
		}
	} else if e, err = asObject(tree, "result"); err != nil {
		return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
	}
	kind := "task"
	if m != MethodGetTask && m != MethodCancelTask {
		if kind, err = eventKind03(e); err != nil {
			return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
		}
	}
	o, err := outcome03(kind, e)
	if err != nil {
		return Outcome{}, fmt.Errorf("outcome of %s: %w", m, err)
	}
	return o, nil
}

func outcome03(kind string, e map[string]any) (Outcome, error) {
	var o Outcome
	var err error
	switch kind {
	case "task":
		if o.TaskID, err = stringField(e, "id"); err != nil {
			return o, err
		}
		if e["kind"] == nil {
			e = shallowCopy(e)
			e["kind"] = "task"
		}
		if o.Task, err = encode(e); err != nil {
			return o, err
		}
	case "message":
		if o.TaskID, err = stringField(e, "taskId"); err != nil {
			return o, err
		}
		if o.Message, err = encode(e); err != nil {
			return o, err
		}
		// A message answers the request in full: nothing follows it.
		o.Final = true
	case "status-update", "artifact-update":
		if o.TaskID, err = stringField(e, "taskId"); err != nil {
			return o, err
		}
		if final, ok := e["final"].(bool); ok && final {
			o.Final = true
		}
	default:
		return o, fmt.Errorf("unknown kind %q", kind)
	}
	if o.ContextID, err = stringField(e, "contextId"); err != nil {
		return o, err
	}
	if kind == "task" || kind == "status-update" {
		status, err := asObject(e["status"], "status")
		if err != nil {
			return o, err
		}
		if o.State, err = stringField(status, "state"); err != nil {
			return o, fmt.Errorf("status: %w", err)
		}
		if Terminal(o.State) || Interrupted(o.State) {
			o.Final = true
		}
		if status["message"] != nil {
			if o.Message, err = encode(status["message"]); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// TaskIDOf extracts the id of the task a request of method m in version v
// concerns; "" when there is none (a first message, or a method about no
// task) or the params cannot be read.
func TaskIDOf(v string, m Method, params json.RawMessage) string {
	tree, err := decode(params)
	if err != nil {
		return ""
	}
	p, ok := tree.(map[string]any)
	if !ok {
		return ""
	}
	var id any
	switch m {
	case MethodSend, MethodStream:
		if msg, ok := p["message"].(map[string]any); ok {
			id = msg["taskId"]
		}
	case MethodGetTask, MethodCancelTask, MethodSubscribe:
		id = p["id"]
	case MethodPushSet:
		id = p["taskId"]
	case MethodPushGet, MethodPushList, MethodPushDelete:
		if v == V10 {
			id = p["taskId"]
		} else {
			id = p["id"]
		}
	}
	s, _ := id.(string)
	return s
}
