package attach

import "time"

// MCPServer is a Model Context Protocol server a team reaches through the
// gateway at /t/{team}/mcp/{name}. The gateway is the OAuth resource server
// in front of it: callers present tokens for the gateway URL, and the
// server gets its own credential instead, with the caller's identity in
// X-Attach-* headers.
type MCPServer struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
	Name   string `json:"name"` // a slug: a URL path segment
	// URL is the server's Streamable HTTP endpoint, called as registered.
	URL string `json:"url"`
	// HasCredential says whether a credential is stored; the credential
	// itself is never shown.
	HasCredential bool `json:"has_credential"`
	// Credential is the upstream secret in clear text, sent to the server
	// as a Bearer token. Filled only where the gateway calls the server
	// (the Directory); never serialised.
	Credential string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ValidMCPServerName reports whether name may name an MCP server: a slug,
// since it is the last segment of the server's URL at the gateway.
func ValidMCPServerName(name string) bool {
	return ValidSlug(name)
}
