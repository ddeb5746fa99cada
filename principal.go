package attach

import "time"

// How a Principal proved who it is.
const (
	MethodOIDC   = "oidc"
	MethodAPIKey = "apikey"
)

// IssuerAPIKey is the Issuer of every Principal authenticated by a gateway
// API key.
const IssuerAPIKey = "apikey"

// Principal is a verified caller. Treat it as read-only.
type Principal struct {
	TeamID, TeamSlug string
	// Subject is the value of the issuer's user claim ("sub" unless the team
	// configured another). For a gateway API key it is "apikey:" followed by
	// the key's id, which stays the same when the key is renamed.
	Subject   string
	Issuer    string // the token's "iss"; IssuerAPIKey for gateway keys
	Method    string // MethodOIDC or MethodAPIKey
	KeyID     string // the gateway API key's id, when Method is MethodAPIKey
	ClientID  string // "client_id" or else "azp" claim, when present
	Scopes    []string
	ExpiresAt time.Time // zero for an API key without expiry
}
