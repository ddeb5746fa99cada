package mcp

import (
	"net/http"
	"net/textproto"
)

// Headers of the transport the relay passes on, in both directions where
// they make sense. Anything else the client sent (its Authorization for
// the gateway, cookies, X-Attach-* of its own making) stays at the
// gateway, and anything else the server answered (its WWW-Authenticate,
// which would send the client to the server's authorization server rather
// than the team's, its cookies) stays at the gateway too.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
	headerLastEventID     = "Last-Event-Id"
)

// Identity headers the gateway sets on what it sends to the server.
const (
	HeaderUser    = "X-Attach-User"
	HeaderSession = "X-Attach-Session"
	HeaderTenant  = "X-Attach-Tenant"
)

// requestHeaders are the client's headers the server sees.
var requestHeaders = []string{
	"Accept", "Accept-Language", "Content-Type", "User-Agent",
	HeaderSessionID, HeaderProtocolVersion, headerLastEventID,
	// Via is kept and this gateway's entry added, so a chain that comes
	// back to this gateway is seen.
	"Via",
}

// responseHeaders are the server's headers the client sees.
var responseHeaders = []string{
	"Content-Type", "Cache-Control", "Content-Language", "Retry-After",
	HeaderSessionID, HeaderProtocolVersion,
}

// copyHeaders copies the values of names from src to dst.
func copyHeaders(dst, src http.Header, names []string) {
	for _, n := range names {
		k := textproto.CanonicalMIMEHeaderKey(n)
		for _, v := range src.Values(k) {
			dst.Add(k, v)
		}
	}
}
