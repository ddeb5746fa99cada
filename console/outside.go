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
	// says how many signing keys it publishes.
	CheckIssuer(ctx context.Context, issuerURL string) (keys int, err error)
	// CheckURL says whether an engine or issuer URL may be saved under the
	// network policy; a refusal is shown next to the field.
	CheckURL(ctx context.Context, rawURL string) error
}

// TokenMinter issues the short-lived gateway tokens with which the signed-in
// user's browser (the demo chat, "Try it") or the console itself calls the
// team's engine routes, /t/SLUG/api/chat and the like.
type TokenMinter interface {
	MintToken(ctx context.Context, team attach.Team, user tenants.User) (Minted, error)
}

// Minted is a token from a TokenMinter.
type Minted struct {
	Token     string    // a Bearer token the team's engine routes accept
	ExpiresAt time.Time // when it stops working
	// Subject is the user the gateway stamps (X-Attach-User) for this
	// token, shown on the chat page beside the tenant and session.
	Subject string
}
