// Package callback is how the demo agents call back through the gateway as
// the user who handed them the task: with the delegation token the gateway
// gave them (X-Attach-Token), to the team's memory and engines and to the
// team's other agents. The agents never see the user's own token.
// It also holds what both demo commands share: serving and their flags.
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Headers the gateway sets on every request it relays to an agent.
const (
	HeaderToken   = "X-Attach-Token"
	HeaderTask    = "X-Attach-Task"
	HeaderUser    = "X-Attach-User"
	HeaderSession = "X-Attach-Session"
	HeaderTenant  = "X-Attach-Tenant"
)

// maxAnswer bounds what is read of one gateway answer.
const maxAnswer = 4 << 20

// Gateway is the team's gateway URL as an agent reaches it.
type Gateway struct {
	// URL is the gateway's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Team is the team's slug; empty means the gateway's default team,
	// served at the root.
	Team string
	// HTTP is the client used; nil means one with a 2-minute timeout, as
	// long as the gateway gives an engine to start answering.
	HTTP *http.Client
}

// Base is the team's URL on the gateway: /t/{team} or the root.
func (g Gateway) Base() string {
	base := strings.TrimRight(g.URL, "/")
	if g.Team != "" {
		base += "/t/" + url.PathEscape(g.Team)
	}
	return base
}

// AgentURL is where the team's agent name is reached through the gateway.
func (g Gateway) AgentURL(name string) string { return g.Base() + "/a2a/" + url.PathEscape(name) }

func (g Gateway) client() *http.Client {
	if g.HTTP != nil {
		return g.HTTP
	}
	return &http.Client{Timeout: 2 * time.Minute}
}

// Event is a memory event as the gateway's memory API shows it.
type Event struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	User    string `json:"user"`
	Session string `json:"session"`
	TaskID  string `json:"task_id"`
	Content string `json:"content"`
}

// AddNote stores a note in the team's memory for the token's user and
// returns its id (mem_id). taskID, when set, files it under that task, so
// it shows up with the task's own events.
func (g Gateway) AddNote(ctx context.Context, token, content, taskID string) (string, error) {
	body, err := json.Marshal(map[string]string{"kind": "note", "content": content, "task_id": taskID})
	if err != nil {
		return "", fmt.Errorf("encode note: %w", err)
	}
	var out struct {
		MemID string `json:"mem_id"`
	}
	if err := g.do(ctx, http.MethodPost, g.Base()+"/mem/events", token, body, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("store note: %w", err)
	}
	if out.MemID == "" {
		return "", errors.New("store note: the gateway gave no mem_id")
	}
	return out.MemID, nil
}

// GetEvent reads one memory event by id.
func (g Gateway) GetEvent(ctx context.Context, token, id string) (Event, error) {
	var e Event
	if err := g.do(ctx, http.MethodGet, g.Base()+"/mem/events/"+url.PathEscape(id), token, nil, http.StatusOK, &e); err != nil {
		return Event{}, fmt.Errorf("read memory event %s: %w", id, err)
	}
	return e, nil
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Chat asks the team's engine (Ollama's /api/chat, not streamed) and
// returns the answer's text.
func (g Gateway) Chat(ctx context.Context, token, model string, messages []Message) (string, error) {
	body, err := json.Marshal(map[string]any{"model": model, "messages": messages, "stream": false})
	if err != nil {
		return "", fmt.Errorf("encode chat: %w", err)
	}
	var out struct {
		Message Message `json:"message"`
	}
	if err := g.do(ctx, http.MethodPost, g.Base()+"/api/chat", token, body, http.StatusOK, &out); err != nil {
		return "", fmt.Errorf("chat with the team's engine: %w", err)
	}
	return out.Message.Content, nil
}

// do sends one request with token as its Bearer and decodes a JSON answer
// of status want into out. Any other answer is an error that quotes the
// gateway's error message (never the token).
func (g Gateway) do(ctx context.Context, method, u, token string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != want {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}
