package attach

import "time"

// Team is one tenant of the gateway, addressed by its slug in /t/{slug}/.
type Team struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Issuer is an OpenID Connect provider whose tokens a team accepts.
type Issuer struct {
	ID         string    `json:"id"`
	TeamID     string    `json:"team_id"`
	URL        string    `json:"issuer"`     // the exact "iss" value, discovery base
	Audience   string    `json:"audience"`   // the "aud" a token must carry
	Algorithms []string  `json:"algorithms"` // empty: every algorithm the gateway allows
	UserClaim  string    `json:"user_claim"` // claim naming the user, default "sub"
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Dialects an engine can speak.
const (
	DialectOllama = "ollama"
	DialectOpenAI = "openai"
)

// Engine is an upstream model server of a team.
type Engine struct {
	ID      string `json:"id"`
	TeamID  string `json:"team_id"`
	Name    string `json:"name"`
	Dialect string `json:"dialect"`
	BaseURL string `json:"base_url"`
	// APIKey is the upstream secret in clear text. It is filled only where the
	// gateway needs it (the Directory, for the proxy) and never serialised.
	APIKey      string    `json:"-"`
	APIKeyLast4 string    `json:"api_key_last4,omitempty"`
	Models      []string  `json:"models"`
	Default     bool      `json:"default"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// APIKey is a gateway key minted for a team. The secret itself is shown once at
// creation and only its hash is kept.
type APIKey struct {
	ID         string     `json:"id"`
	TeamID     string     `json:"team_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // public part, used to find the key
	Hash       []byte     `json:"-"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"created_by,omitempty"` // user id; "" when unknown
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}
