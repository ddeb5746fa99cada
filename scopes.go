package attach

// ScopeMemoryAdmin lets a caller read and erase every event of its team,
// not only its own.
const ScopeMemoryAdmin = "memory:admin"

// ScopeUsageRead lets a caller read its whole team's usage, not only its
// own.
const ScopeUsageRead = "usage:read"

// KeyScopes are the scopes a gateway API key may carry: those the gateway
// acts on. Anything else would be stored and then silently mean nothing,
// so a key asking for "admin" or "*" is refused rather than given less
// than its maker believes.
var KeyScopes = []string{ScopeMemoryAdmin, ScopeUsageRead}
