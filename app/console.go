package app

import (
	"context"
	"fmt"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/tenants"
)

// consoleTokenTTL is how long a token minted for a console page lasts: the
// page asks for a new one when it runs out. Sign-out, removal and role
// changes bite on the next call (checkConsoleAccess), not at expiry.
const consoleTokenTTL = 10 * time.Minute

// ScopeMemoryAdmin lets a caller read and erase every event of its team,
// not only its own.
const ScopeMemoryAdmin = attach.ScopeMemoryAdmin

// minter issues console tokens: the gateway vouching for a signed-in user
// of the team.
type minter struct {
	local *identity.LocalIssuer
	store *tenants.Store
}

func (m *minter) MintToken(ctx context.Context, team attach.Team, user tenants.User, sessionToken string) (console.Minted, error) {
	ref, ok := tenants.SessionRef(sessionToken)
	if !ok {
		return console.Minted{}, fmt.Errorf("mint console token: not a console session")
	}
	role, err := m.store.RoleOf(ctx, team.ID, user.ID)
	if err != nil {
		return console.Minted{}, fmt.Errorf("mint console token: %w", err)
	}
	scope := ""
	if role == tenants.RoleOwner || role == tenants.RoleAdmin {
		scope = ScopeMemoryAdmin
	}
	subject := attach.UserSubject(user.ID)
	tok, exp, err := m.local.Mint(team.ID, subject, ref, scope, consoleTokenTTL)
	if err != nil {
		return console.Minted{}, err
	}
	return console.Minted{Token: tok, ExpiresAt: exp, Subject: subject}, nil
}
