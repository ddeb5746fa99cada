package a2a

import (
	"encoding/json"
	"fmt"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
)

// The gateway keeps each task as the agent last described it, in A2A
// 0.3's shape (every object says its "kind"). Whole tasks replace the
// snapshot; status and artifact updates are applied to it, as a client
// following the stream would.

// emptySnapshot is the task before the agent said anything about it.
func emptySnapshot(t attach.Task) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"kind": "task", "id": t.TaskID, "contextId": t.ContextID,
		"status": map[string]any{"state": orState(t.State)},
	})
	return b
}

func orState(s string) string {
	if s == "" {
		return attach.TaskSubmitted
	}
	return s
}

// nextSnapshot applies a whole task or an update to the current snapshot
// and returns it with the state it now says ("" when it says none).
func nextSnapshot(cur, full, update json.RawMessage) (json.RawMessage, string, error) {
	snap := cur
	if len(full) > 0 {
		snap = full
	}
	if len(update) > 0 {
		var err error
		if snap, err = applyUpdate(snap, update); err != nil {
			return nil, "", err
		}
	}
	var t struct {
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.Unmarshal(snap, &t); err != nil {
		return nil, "", fmt.Errorf("read task snapshot: %w", err)
	}
	return snap, t.Status.State, nil
}

// applyUpdate applies a status-update or artifact-update event to a task.
func applyUpdate(snap, update json.RawMessage) (json.RawMessage, error) {
	var task map[string]any
	if err := json.Unmarshal(snap, &task); err != nil {
		return nil, fmt.Errorf("read task snapshot: %w", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(update, &ev); err != nil {
		return nil, fmt.Errorf("read task update: %w", err)
	}
	switch ev["kind"] {
	case "status-update":
		if st, ok := ev["status"].(map[string]any); ok {
			// The status message a task leaves becomes history, as agents
			// themselves keep it.
			if old, ok := task["status"].(map[string]any); ok && old["message"] != nil {
				hist, _ := task["history"].([]any)
				task["history"] = append(hist, old["message"])
			}
			task["status"] = st
		}
	case "artifact-update":
		art, ok := ev["artifact"].(map[string]any)
		if !ok {
			break
		}
		arts, _ := task["artifacts"].([]any)
		appendTo := ev["append"] == true
		replaced := false
		for i, a := range arts {
			old, ok := a.(map[string]any)
			if !ok || old["artifactId"] != art["artifactId"] {
				continue
			}
			if appendTo {
				parts, _ := old["parts"].([]any)
				more, _ := art["parts"].([]any)
				old["parts"] = append(parts, more...)
			} else {
				arts[i] = art
			}
			replaced = true
			break
		}
		if !replaced {
			arts = append(arts, art)
		}
		task["artifacts"] = arts
	default:
		return nil, fmt.Errorf("read task update: unknown kind %v", ev["kind"])
	}
	return json.Marshal(task)
}

// statusMessage is the message the task's status carries, if any.
func statusMessage(snap json.RawMessage) json.RawMessage {
	var t struct {
		Status struct {
			Message json.RawMessage `json:"message"`
		} `json:"status"`
	}
	if json.Unmarshal(snap, &t) != nil || string(t.Status.Message) == "null" {
		return nil
	}
	return t.Status.Message
}

// part is a 0.3 part as far as memory cares: its text, or what it holds.
type part struct {
	Kind string          `json:"kind"`
	Text string          `json:"text"`
	Data json.RawMessage `json:"data"`
	File struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"file"`
}

// partsText is what memory keeps of some parts: text as it is, data as
// JSON, a file by its name or URI (never its bytes).
func partsText(parts []part) string {
	var b strings.Builder
	for _, p := range parts {
		var s string
		switch p.Kind {
		case "text":
			s = p.Text
		case "data":
			s = string(p.Data)
		case "file":
			s = "[file " + strings.TrimSpace(p.File.Name+" "+p.File.URI) + "]"
		}
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s)
	}
	return b.String()
}

// MessageText is the text of a 0.3 message.
func MessageText(msg json.RawMessage) string {
	var m struct {
		Parts []part `json:"parts"`
	}
	if json.Unmarshal(msg, &m) != nil {
		return ""
	}
	return partsText(m.Parts)
}

// ResultText is what a finished task answered: its artifacts' text, or
// else its status message's.
func ResultText(snap json.RawMessage) string {
	var t struct {
		Status struct {
			Message *struct {
				Parts []part `json:"parts"`
			} `json:"message"`
		} `json:"status"`
		Artifacts []struct {
			Parts []part `json:"parts"`
		} `json:"artifacts"`
	}
	if json.Unmarshal(snap, &t) != nil {
		return ""
	}
	var texts []string
	for _, a := range t.Artifacts {
		if s := partsText(a.Parts); s != "" {
			texts = append(texts, s)
		}
	}
	if len(texts) == 0 && t.Status.Message != nil {
		return partsText(t.Status.Message.Parts)
	}
	return strings.Join(texts, "\n")
}
