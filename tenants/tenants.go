// Package tenants holds the teams that use the gateway and everything each team
// configures: the identity providers and DID methods it trusts, the engines,
// agents and MCP servers it reaches, the gateway API keys it has minted, the
// quotas it sets (per team, user and key) and who called it; and the
// console's side of them: users (locked or not, install administrators or
// not), their roles in teams, invitations, sign-in sessions and the audit
// log. The Store
// keeps them in Postgres; the Directory keeps a read-only copy of what the
// request path needs in memory.
package tenants

import attach "github.com/attach-dev/attach-gateway"

// Snapshot is one team's configuration as the request path sees it: read-only,
// shared between goroutines, replaced whole when the team changes.
type Snapshot struct {
	Team    attach.Team
	Issuers []attach.Issuer
	Engines []attach.Engine // APIKey filled in clear text
	Agents  []attach.Agent  // Credential filled in clear text
	// MCPServers are the team's MCP servers, Credential filled in clear
	// text.
	MCPServers []attach.MCPServer
	Memory     MemorySettings
	DID        attach.DIDPolicy // which DID-JWTs the team accepts
	Quotas     *Quotas          // the team's limits; nil when it has none
	// Version grows every time the Directory rebuilds this team, so caches keyed
	// on it forget what they learnt under an older configuration.
	Version uint64
	apiKeys map[string]attach.APIKey // by Prefix
}
