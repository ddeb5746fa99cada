package a2a

import (
	"errors"
	"fmt"
	"time"
)

// 1.0 stream events are objects with one of these members.
var eventKeys10 = []string{"task", "message", "statusUpdate", "artifactUpdate"}

func statusTo10(s map[string]any) (map[string]any, error) {
	out := shallowCopy(s)
	state, err := stateTo10(s["state"])
	if err != nil {
		return nil, err
	}
	out["state"] = state
	if err := mapObject(out, "message", messageTo10); err != nil {
		return nil, err
	}
	if err := normalizeTimestamp(out); err != nil {
		return nil, err
	}
	return out, nil
}

func statusTo03(s map[string]any) (map[string]any, error) {
	out := shallowCopy(s)
	if err := normalizeTimestamp(out); err != nil {
		return nil, err
	}
	// Proto-JSON leaves the unspecified state out.
	state := "unknown"
	if s["state"] != nil {
		var err error
		if state, err = stateTo03(s["state"]); err != nil {
			return nil, err
		}
	}
	out["state"] = state
	if err := mapObject(out, "message", messageTo03); err != nil {
		return nil, err
	}
	return out, nil
}

// normalizeTimestamp rewrites a status timestamp as RFC 3339 in UTC with a
// Z, the only form proto-JSON's Timestamp must accept and one every 0.3
// reader accepts; 0.3 senders write ISO 8601 with offsets, and some leave
// the zone out (read as UTC). A string that is no timestamp at all is left
// for the receiver to judge.
func normalizeTimestamp(o map[string]any) error {
	v, ok := o["timestamp"]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("timestamp: want a string, got %s", typeName(v))
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			o["timestamp"] = t.UTC().Format(time.RFC3339Nano)
			return nil
		}
	}
	return nil
}

func taskTo10(t map[string]any) (map[string]any, error) {
	if err := checkStrings(t, "id", "contextId"); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	out := shallowCopy(t)
	delete(out, "kind")
	if t["status"] == nil {
		return nil, errors.New("task: status: missing")
	}
	if err := mapObject(out, "status", statusTo10); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	if err := mapArray(out, "history", messageTo10); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	if err := mapArray(out, "artifacts", artifactTo10); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	return out, nil
}

func taskTo03(t map[string]any) (map[string]any, error) {
	if err := checkStrings(t, "id", "contextId"); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	out := shallowCopy(t)
	out["kind"] = "task"
	if t["status"] == nil {
		out["status"] = map[string]any{"state": "unknown"}
	} else if err := mapObject(out, "status", statusTo03); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	if err := mapArray(out, "history", messageTo03); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	if err := mapArray(out, "artifacts", artifactTo03); err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	return out, nil
}

func statusUpdateTo10(e map[string]any) (map[string]any, error) {
	if err := checkStrings(e, "taskId", "contextId"); err != nil {
		return nil, fmt.Errorf("status-update: %w", err)
	}
	out := shallowCopy(e)
	delete(out, "kind")
	// 1.0 ends a stream by closing it; final has no counterpart.
	delete(out, "final")
	if e["status"] == nil {
		return nil, errors.New("status-update: status: missing")
	}
	if err := mapObject(out, "status", statusTo10); err != nil {
		return nil, fmt.Errorf("status-update: %w", err)
	}
	return out, nil
}

func statusUpdateTo03(e map[string]any) (map[string]any, error) {
	if err := checkStrings(e, "taskId", "contextId"); err != nil {
		return nil, fmt.Errorf("status-update: %w", err)
	}
	out := shallowCopy(e)
	out["kind"] = "status-update"
	if e["status"] == nil {
		out["status"] = map[string]any{"state": "unknown"}
	} else if err := mapObject(out, "status", statusTo03); err != nil {
		return nil, fmt.Errorf("status-update: %w", err)
	}
	// A 0.3 client stops reading a stream only at a status update marked
	// final, so mark every one after which a 1.0 agent closes the stream.
	status, _ := out["status"].(map[string]any)
	state, _ := status["state"].(string)
	out["final"] = Terminal(state) || Interrupted(state)
	return out, nil
}

func artifactUpdateTo10(e map[string]any) (map[string]any, error) {
	if err := checkStrings(e, "taskId", "contextId"); err != nil {
		return nil, fmt.Errorf("artifact-update: %w", err)
	}
	out := shallowCopy(e)
	delete(out, "kind")
	if e["artifact"] == nil {
		return nil, errors.New("artifact-update: artifact: missing")
	}
	if err := mapObject(out, "artifact", artifactTo10); err != nil {
		return nil, fmt.Errorf("artifact-update: %w", err)
	}
	return out, nil
}

func artifactUpdateTo03(e map[string]any) (map[string]any, error) {
	if err := checkStrings(e, "taskId", "contextId"); err != nil {
		return nil, fmt.Errorf("artifact-update: %w", err)
	}
	out := shallowCopy(e)
	out["kind"] = "artifact-update"
	if e["artifact"] == nil {
		return nil, errors.New("artifact-update: artifact: missing")
	}
	if err := mapObject(out, "artifact", artifactTo03); err != nil {
		return nil, fmt.Errorf("artifact-update: %w", err)
	}
	return out, nil
}

// eventKind03 reads a 0.3 event's kind; one without is typed by the
// members it carries.
func eventKind03(e map[string]any) (string, error) {
	kind, err := stringField(e, "kind")
	if err != nil {
		return "", fmt.Errorf("event: %w", err)
	}
	if kind == "" {
		switch {
		case e["messageId"] != nil && e["role"] != nil:
			kind = "message"
		case e["artifact"] != nil:
			kind = "artifact-update"
		case e["status"] != nil && e["taskId"] != nil:
			kind = "status-update"
		case e["status"] != nil && e["id"] != nil:
			kind = "task"
		default:
			return "", errors.New("event: no kind, and its members tell none")
		}
	}
	return kind, nil
}

// eventTo10 turns a 0.3 Task, Message, status-update or artifact-update
// into the 1.0 event wrapping it.
func eventTo10(v any) (map[string]any, error) {
	e, err := asObject(v, "event")
	if err != nil {
		return nil, err
	}
	kind, err := eventKind03(e)
	if err != nil {
		return nil, err
	}
	var inner map[string]any
	var key string
	switch kind {
	case "task":
		key = "task"
		inner, err = taskTo10(e)
	case "message":
		key = "message"
		inner, err = messageTo10(e)
	case "status-update":
		key = "statusUpdate"
		inner, err = statusUpdateTo10(e)
	case "artifact-update":
		key = "artifactUpdate"
		inner, err = artifactUpdateTo10(e)
	default:
		return nil, fmt.Errorf("event: unknown kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{key: inner}, nil
}

// eventTo03 unwraps a 1.0 event into the 0.3 object of its kind.
func eventTo03(v any) (map[string]any, error) {
	key, inner, err := unwrapEvent10(v)
	if err != nil {
		return nil, err
	}
	switch key {
	case "task":
		return taskTo03(inner)
	case "message":
		return messageTo03(inner)
	case "statusUpdate":
		return statusUpdateTo03(inner)
	default:
		return artifactUpdateTo03(inner)
	}
}

// unwrapEvent10 finds the one member of a 1.0 event; members of other names
// are ignored, as proto-JSON readers ignore unknown fields.
func unwrapEvent10(v any) (string, map[string]any, error) {
	e, err := asObject(v, "event")
	if err != nil {
		return "", nil, err
	}
	var key string
	for _, k := range eventKeys10 {
		if e[k] == nil {
			continue
		}
		if key != "" {
			return "", nil, fmt.Errorf("event: both %s and %s are set", key, k)
		}
		key = k
	}
	if key == "" {
		return "", nil, errors.New("event: none of task, message, statusUpdate or artifactUpdate is set")
	}
	inner, err := asObject(e[key], "event: "+key)
	if err != nil {
		return "", nil, err
	}
	return key, inner, nil
}
