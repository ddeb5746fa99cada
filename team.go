package attach

import "time"

// Team is one tenant of the gateway, addressed by its slug in /t/{slug}/.
type Team struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// EngineCookies lets the team's engines set cookies on its clients.
	// Off, the proxy drops Set-Cookie from engine answers: the gateway
	// answers on the console's origin, shared by every team.
	EngineCookies bool      `json:"engine_cookies"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// ValidSlug tells whether s can name a team: 1 to 63 lowercase letters,
// digits or '-', not starting with '-'. A slug is a URL path segment.
func ValidSlug(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// SigningAlgorithms are the only JWT signature algorithms the gateway
// accepts, and those an issuer may be restricted to: public key algorithms,
// so "none" and HMAC (which an attacker could key with the issuer's public
// key, and which has no place in a public JWKS) are refused whatever a team
// configures. Read only.
var SigningAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}

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

	// Exchange, when set, makes this the team's exchange issuer: a bearer
	// token the team does not otherwise accept is exchanged at the
	// issuer's token endpoint (RFC 8693) for one of its own tokens. At most
	// one issuer of a team has it.
	Exchange *IssuerExchange `json:"exchange,omitempty"`
}

// IssuerExchange is the gateway's client at an exchange issuer.
type IssuerExchange struct {
	ClientID string `json:"client_id"`
	// ClientSecret is the client's secret in clear text. It is filled only
	// where the gateway needs it (the Directory) and never serialised.
	ClientSecret string `json:"-"`
}

// DID methods a team can trust for DID-JWT sign-in.
const (
	DIDMethodKey = "key" // did:key: the key is the identifier
	DIDMethodPKH = "pkh" // did:pkh, eip155 accounts: a recoverable secp256k1 signature
	DIDMethodWeb = "web" // did:web: the DID document is fetched over HTTPS
)

// DIDPolicy says which DID-JWTs a team accepts. The zero value accepts none.
type DIDPolicy struct {
	// Methods are the trusted DID methods (DIDMethodKey, ...); empty: DID
	// tokens are refused.
	Methods []string `json:"methods"`
	// Allow, when not empty, lists the only DIDs that may call.
	Allow []string `json:"allow"`
	// Audiences are accepted as the token's aud besides the team's gateway
	// URL (https://HOST/t/TEAM).
	Audiences []string `json:"audiences"`
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
