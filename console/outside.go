package console

import (
	"context"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Prober reaches out of the install on an admin's behalf, under the
// install's network policy (cloud metadata and link-local addresses
// refused, private ranges as the install allows). Its errors are shown to
// the admin as they are, so they must be plain words and carry no secret.
type Prober interface {
	// ProbeEngine lists the models of a saved engine (GET /api/tags for
	// ollama, /v1/models for openai) and times the round trip. e is as the
	// store returns it, so e.APIKey is empty: the prober uses the upstream
	// key it holds for engine e.ID of team e.TeamID.
	ProbeEngine(ctx context.Context, e attach.Engine) (models []string, rtt time.Duration, err error)
	// CheckIssuer fetches the issuer's discovery document and key set and
	// says how many signing keys it publishes. issuer is the issuer as the
	// discovery document writes it, which tokens' "iss" carries: it may
	// differ from issuerURL by a trailing slash, and is what gets saved.
	CheckIssuer(ctx context.Context, issuerURL string) (issuer string, keys int, err error)
	// CheckURL says whether an engine or issuer URL may be saved under the
	// network policy; a refusal is shown next to the field.
	CheckURL(ctx context.Context, rawURL string) error
}

// TokenMinter issues the short-lived gateway tokens with which the signed-in
// user's browser (the demo chat, "Try it") or the console itself calls the
// team's engine routes, /t/SLUG/api/chat and the like.
type TokenMinter interface {
	// sessionToken is the caller's console session: the token works only
	// while that session and the membership last.
	MintToken(ctx context.Context, team attach.Team, user tenants.User, sessionToken string) (Minted, error)
}

// Minted is a token from a TokenMinter.
type Minted struct {
	Token     string    // a Bearer token the team's engine routes accept
	ExpiresAt time.Time // when it stops working
	// Subject is the user the gateway stamps (X-Attach-User) for this
	// token, shown on the chat page beside the tenant and session.
	Subject string
}

// CardFetcher reads a saved agent's card from the agent, under the
// install's network policy and with the agent's credential, which it holds
// for agent a.ID of team a.TeamID (a is as the store returns it, without
// the credential). Its errors are shown to the admin as they are, so they
// must be plain words and carry no secret.
type CardFetcher interface {
	FetchAgentCard(ctx context.Context, a attach.Agent) (AgentCard, error)
}

// AgentCard is what the console shows of an agent's card, and stores.
type AgentCard struct {
	Raw         []byte // the card as the agent served it
	Version     string // "0.3" or "1.0", read from the card's shape
	Name        string
	Description string
	Skills      []AgentSkill
}

// AgentSkill is one skill an agent's card lists.
type AgentSkill struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}
