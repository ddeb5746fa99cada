package attach

import "time"

// Usage is what one model exchange (chat, completion or embedding) cost, as
// the proxy measured it once the answer ended. It is what the usage ledger
// stores and what quotas charge.
type Usage struct {
	TeamID string
	User   string // the caller's subject, as stamped in X-Attach-User
	KeyID  string // the gateway API key's id, when a key made the call
	Agent  string // the delegated agent, when an agent called for a user
	Engine string
	Model  string // the model that served the answer (or was asked for)
	Path   string // the engine's route, e.g. /api/chat or /v1/chat/completions (an Ollama call translated for an OpenAI engine: the OpenAI route)

	PromptTokens     int
	CompletionTokens int
	// Estimated says the engine reported no counts and they were
	// estimated from the text.
	Estimated bool

	Status  int           // the HTTP status the client got
	Latency time.Duration // from sending to the engine to the answer's end
	Time    time.Time     // when the exchange started
}

// Tokens is prompt and completion tokens together.
func (u Usage) Tokens() int { return u.PromptTokens + u.CompletionTokens }
