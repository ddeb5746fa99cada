package attach

import (
	"strings"
	"time"
)

// How a Principal proved who it is.
const (
	MethodOIDC   = "oidc"
	MethodAPIKey = "apikey"
	MethodDID    = "did" // a DID-JWT: the Subject and Issuer are the caller's DID
	// MethodExchange is a token the gateway issued at its token endpoint
	// (RFC 8693) in exchange for another: bound to one Audience.
	MethodExchange = "exchange"
	// MethodIdPExchange is a token the team's exchange issuer returned in
	// exchange for the caller's (RFC 8693): the Subject and Issuer are
	// those of the returned token.
	MethodIdPExchange = "idp_exchange"
)

// IssuerAPIKey is the Issuer of every Principal authenticated by a gateway
// API key.
const IssuerAPIKey = "apikey"

// SubjectPrefixAPIKey starts the Subject of every API key's Principal. No
// token's user claim may start with it (in any case), so no token can be
// taken for a key: see ReservedSubject.
const SubjectPrefixAPIKey = "apikey:"

// SubjectPrefixUser starts the Subject of every console user (someone
// signed in to the console with a password or single sign-on), followed by
// the user's id. Without it a console user's subject would be a bare id,
// which any issuer's token could carry as its sub and so read that user's
// memory. No token's user claim may start with it either.
const SubjectPrefixUser = "user:"

// UserSubject is the Subject of the console user whose id is userID.
func UserSubject(userID string) string { return SubjectPrefixUser + userID }

// ReservedSubject reports whether a user claim falls in a namespace the
// gateway keeps for principals of its own making: API keys and console
// users. Case is ignored, so that no spelling of a prefix slips through.
func ReservedSubject(subject string) bool {
	return hasPrefixFold(subject, SubjectPrefixAPIKey) || hasPrefixFold(subject, SubjectPrefixUser)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// PrintableSubject reports whether a user claim is free of control
// characters (below 0x20, and DEL). The subject goes out as a header value
// and is the owner of stored memory: a NUL, CR or LF in it would split or
// spoil both.
func PrintableSubject(subject string) bool {
	for i := 0; i < len(subject); i++ {
		if c := subject[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Principal is a verified caller. Treat it as read-only.
type Principal struct {
	TeamID, TeamSlug string
	// Subject is the value of the issuer's user claim ("sub" unless the team
	// configured another). For a gateway API key it is SubjectPrefixAPIKey
	// followed by the key's id, which stays the same when the key is
	// renamed; for a console user, SubjectPrefixUser followed by the
	// user's id. No token may name a subject with either prefix.
	Subject   string
	Issuer    string // the token's "iss"; IssuerAPIKey for gateway keys
	Method    string // MethodOIDC, MethodIdPExchange, MethodDID, MethodAPIKey, or one of the gateway's own token kinds
	KeyID     string // the gateway API key's id, when Method is MethodAPIKey
	ClientID  string // "client_id" or else "azp" claim, when present
	Scopes    []string
	ExpiresAt time.Time // zero for an API key without expiry
	// For a delegation token (an agent calling back for the user): the
	// agent, the user's session and the task it works on (the gateway's
	// id), and how many agents deep the hand-off is.
	Actor, Session, Task string
	Depth                int
	// Audience is the one URL an exchanged token (MethodExchange) was
	// issued for: the team's gateway URL, one of its agents or MCP
	// servers. Routes refuse a Principal whose Audience is not theirs.
	// Empty for every other kind of token.
	Audience string
	// ConsoleSession is, for a console token, the reference of the console
	// session it was minted in (tenants.SessionRef): the gateway checks on
	// each call that the session and the membership still hold.
	ConsoleSession string
}
