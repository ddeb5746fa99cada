package app

import (
	"context"
	"slices"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// checkConsoleAccess holds a console token to its session and its user's
// membership, on every call: a member removed from the team, a session
// signed out and a role taken away stop a page's token on its next request,
// on every replica, not when its ten minutes run out. One indexed query,
// for console tokens only. The memory-admin scope follows the current role.
func (a *App) checkConsoleAccess(ctx context.Context, team *tenants.Snapshot, p *attach.Principal) error {
	if p.Method != identity.MethodConsole {
		return nil
	}
	userID := p.Subject[len(attach.SubjectPrefixUser):]
	role, err := a.store.ConsoleAccess(ctx, p.ConsoleSession, team.Team.ID, userID)
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return &attach.Error{Code: attach.CodeInvalidToken, Reason: identity.ReasonConsoleSessionEnded,
			Message: "the console session behind this token ended, or its user is no longer a member of team " + team.Team.Slug + ": sign in to the console again"}
	}
	if err != nil {
		return err
	}
	if role != tenants.RoleOwner && role != tenants.RoleAdmin {
		p.Scopes = slices.DeleteFunc(p.Scopes, func(s string) bool { return s == ScopeMemoryAdmin })
	}
	return nil
}
