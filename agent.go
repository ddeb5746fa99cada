package attach

import "time"

// A2A protocol versions an agent can speak. VersionAuto means "read it from
// the agent's card".
const (
	A2AVersion03   = "0.3"
	A2AVersion10   = "1.0"
	A2AVersionAuto = "auto"
)

// ValidA2AVersion reports whether v may be configured on an agent.
func ValidA2AVersion(v string) bool {
	return v == A2AVersion03 || v == A2AVersion10 || v == A2AVersionAuto
}

// Agent is an A2A agent a team reaches through the gateway at
// /t/{team}/a2a/{name}.
type Agent struct {
	ID      string `json:"id"`
	TeamID  string `json:"team_id"`
	Name    string `json:"name"` // a slug: a URL path segment
	BaseURL string `json:"base_url"`
	// Version is what the team configured: "0.3", "1.0" or "auto".
	Version string `json:"version"`
	// Credential is the upstream secret in clear text, sent to the agent as
	// a Bearer token. Filled only where the gateway calls the agent (the
	// Directory); never serialised.
	Credential      string `json:"-"`
	CredentialLast4 string `json:"credential_last4,omitempty"`
	// The agent's own card as last fetched, the version read from it, and
	// why the last fetch failed ("" when it did not).
	Card          []byte     `json:"card,omitempty"`
	CardVersion   string     `json:"card_version,omitempty"`
	CardError     string     `json:"card_error,omitempty"`
	CardFetchedAt *time.Time `json:"card_fetched_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// SpokenVersion is the version the gateway talks to the agent in: the
// configured one, or the card's under "auto" (0.3 when the card is unknown).
func (a Agent) SpokenVersion() string {
	switch {
	case a.Version == A2AVersion03 || a.Version == A2AVersion10:
		return a.Version
	case a.CardVersion == A2AVersion10:
		return A2AVersion10
	default:
		return A2AVersion03
	}
}

// Task states, as the gateway stores them (A2A 0.3's names; 1.0's
// TASK_STATE_* map one to one).
const (
	TaskSubmitted     = "submitted"
	TaskWorking       = "working"
	TaskInputRequired = "input-required"
	TaskAuthRequired  = "auth-required"
	TaskCompleted     = "completed"
	TaskCanceled      = "canceled"
	TaskFailed        = "failed"
	TaskRejected      = "rejected"
	TaskUnknown       = "unknown"
)

// TaskTerminal reports whether a task in state s will not change again.
func TaskTerminal(s string) bool {
	switch s {
	case TaskCompleted, TaskCanceled, TaskFailed, TaskRejected:
		return true
	}
	return false
}

// Task is one A2A task handed to an agent through the gateway. Clients know
// it by the agent's own id, TaskID, unique within the team's agent; ID is
// the gateway's, which links a task to its parent.
type Task struct {
	ID        string `json:"id"`
	TaskID    string `json:"task_id"`
	TeamID    string `json:"team_id"`
	AgentID   string `json:"agent_id"`
	AgentName string `json:"agent"`
	ContextID string `json:"context_id,omitempty"`
	User      string `json:"user"`
	Session   string `json:"session"`
	// ParentID is the task on whose behalf an agent made this call, when an
	// agent called another through the gateway.
	ParentID  string    `json:"parent_id,omitempty"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"` // why it failed, when the gateway knows
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
