// Package tenants holds the teams that use the gateway and everything each team
// configures: the identity providers it trusts, the engines it proxies to and the
// gateway API keys it has minted; and the console's side of them: users, their
// roles in teams, invitations, sign-in sessions and the audit log. The Store
// keeps them in Postgres; the Directory keeps a read-only copy of what the
// request path needs in memory.
package tenants

import (
	"errors"
	"time"
)

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

// Errors the store returns; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrExpired: the invite, session or setup link existed but its time ran out.
	ErrExpired = errors.New("expired")
	// ErrBadCredentials: no account with that email, or a wrong password. The
	// two are not told apart, so the answer does not reveal who has an account.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrLastOwner: the change would leave a team without an owner. It is
	// also an ErrConflict, for handlers that map errors by kind.
	ErrLastOwner error = lastOwnerError{}
)

type lastOwnerError struct{}

func (lastOwnerError) Error() string        { return "a team must keep at least one owner" }
func (lastOwnerError) Is(target error) bool { return target == ErrConflict }

// ValidationError says which field of an input is wrong and why.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Snapshot is one team's configuration as the request path sees it: read-only,
// shared between goroutines, replaced whole when the team changes.
type Snapshot struct {
	Team    Team
	Issuers []Issuer
	Engines []Engine // APIKey filled in clear text
	// Version grows every time the Directory rebuilds this team, so caches keyed
	// on it forget what they learnt under an older configuration.
	Version uint64
	apiKeys map[string]APIKey // by Prefix
}
