package attach

import (
	"encoding/json"
	"time"
)

// Kinds of memory event.
const (
	KindPrompt     = "prompt"
	KindResponse   = "response"
	KindTaskSent   = "task_sent"
	KindTaskResult = "task_result"
	KindLog        = "log"
	KindNote       = "note"
	// KindToolCall is one MCP tools/call relayed to a team's MCP server:
	// the tool, its arguments and its result or error.
	KindToolCall = "tool_call"
)

// ValidKind reports whether k is one of the kinds above.
func ValidKind(k string) bool {
	switch k {
	case KindPrompt, KindResponse, KindTaskSent, KindTaskResult, KindLog, KindNote, KindToolCall:
		return true
	}
	return false
}

// Event is one thing remembered for a team: a prompt sent to an engine, the
// engine's answer, an A2A hand-off, a log line or a note an agent stored.
// ID is a UUIDv7, so ordering by id is ordering by creation, and it is the
// key every sink uses, which makes redelivery idempotent.
type Event struct {
	ID        string          `json:"id"`
	TeamID    string          `json:"team_id"`
	User      string          `json:"user"`
	Session   string          `json:"session"`
	Kind      string          `json:"kind"`
	Role      string          `json:"role,omitempty"`
	Model     string          `json:"model,omitempty"`
	Engine    string          `json:"engine,omitempty"`
	Content   string          `json:"content"`
	Truncated bool            `json:"truncated,omitempty"`
	TaskID    string          `json:"task_id,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}
