package coder

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// systemPrompt tells the engine what the coder wants of it.
const systemPrompt = "You are a careful programmer. Write the code the plan asks for, with a line or two on how to run it."

// run does the coder's work for one message and records the finished task.
// A failure (no token, no plan, the engine) ends the task failed with the
// reason, rather than as a JSON-RPC error: the task happened.
func (s *server) run(r *http.Request, in *message) task {
	t := task{ID: rand.Text(), ContextID: in.ContextID}
	if t.ContextID == "" {
		t.ContextID = rand.Text()
	}
	in.TaskID, in.ContextID = t.ID, t.ContextID
	t.History = []message{*in}

	answer, err := s.write(r, in)
	if err != nil {
		s.cfg.Logger.Warn("coder: task failed", "task", t.ID, "err", err)
		t.Status = s.status(t, stateFailed, err.Error())
	} else {
		t.Artifacts = []artifact{{ArtifactID: rand.Text(), Name: "code", Parts: []part{{Text: answer, MediaType: "text/plain"}}}}
		t.Status = s.status(t, stateCompleted, answer)
	}
	t.History = append(t.History, *t.Status.Message)
	s.tasks.put(t)
	return t
}

func (s *server) status(t task, state, text string) taskStatus {
	return taskStatus{
		State: state, Timestamp: time.Now().UTC().Format(time.RFC3339Nano),
		Message: &message{
			MessageID: rand.Text(), ContextID: t.ContextID, TaskID: t.ID, Role: roleAgent,
			Parts: []part{{Text: text, MediaType: "text/plain"}},
		},
	}
}

// write reads the plan the message points to and asks the engine for the
// code, as the user who handed the task over.
func (s *server) write(r *http.Request, in *message) (string, error) {
	token := r.Header.Get(callback.HeaderToken)
	if token == "" {
		return "", errors.New("no delegation token (X-Attach-Token): the coder is called through the gateway")
	}
	plan, err := s.plan(r, token, in)
	if err != nil {
		return "", err
	}
	answer, err := s.cfg.Gateway.Chat(r.Context(), token, s.cfg.Model, []callback.Message{
		{Role: "system", Content: systemPrompt},
		{Role: "user", Content: plan},
	})
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(answer) == "" {
		return "", errors.New("the engine answered nothing")
	}
	return answer, nil
}

// plan is the plan the message names by mem_id, read from the team's
// memory, or the message's own text when it names none.
func (s *server) plan(r *http.Request, token string, in *message) (string, error) {
	memID, text := memIDOf(in)
	if memID == "" {
		if strings.TrimSpace(text) == "" {
			return "", errors.New(`the message names no plan: send {"mem_id": ...} or the plan as text`)
		}
		return text, nil
	}
	ev, err := s.cfg.Gateway.GetEvent(r.Context(), token, memID)
	if err != nil {
		return "", fmt.Errorf("read the plan: %w", err)
	}
	return ev.Content, nil
}

// memIDOf finds mem_id in the message's data parts, or in a text part that
// is a JSON object; it also returns the message's text.
func memIDOf(m *message) (memID, text string) {
	var b strings.Builder
	for _, p := range m.Parts {
		b.WriteString(p.Text)
		for _, raw := range []string{string(p.Data), p.Text} {
			raw = strings.TrimSpace(raw)
			if memID != "" || !strings.HasPrefix(raw, "{") {
				continue
			}
			var v struct {
				MemID string `json:"mem_id"`
			}
			d := json.NewDecoder(bytes.NewReader([]byte(raw)))
			if d.Decode(&v) == nil {
				memID = v.MemID
			}
		}
	}
	return memID, b.String()
}
