// Package tenants holds the teams that use the gateway and everything each team
// configures: the identity providers it trusts, the engines it proxies to and the
// gateway API keys it has minted; and the console's side of them: users, their
// roles in teams, invitations, sign-in sessions and the audit log. The Store
// keeps them in Postgres; the Directory keeps a read-only copy of what the
// request path needs in memory.
package tenants

import (
	"errors"

	attach "github.com/attach-dev/attach-gateway"
)

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
	Team    attach.Team
	Issuers []attach.Issuer
	Engines []attach.Engine // APIKey filled in clear text
	// Version grows every time the Directory rebuilds this team, so caches keyed
	// on it forget what they learnt under an older configuration.
	Version uint64
	apiKeys map[string]attach.APIKey // by Prefix
}
