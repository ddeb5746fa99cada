package console

import (
	"context"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Store is what the console reads and changes; *tenants.Store satisfies it.
// Changes made with a context from tenants.WithActor are written to the
// team's audit log in the same transaction.
type Store interface {
	// Users and sign-in.
	CreateLocalUser(ctx context.Context, in tenants.UserInput) (tenants.User, error)
	AuthenticatePassword(ctx context.Context, email, password string) (tenants.User, error)
	UpsertOIDCUser(ctx context.Context, issuer, subject, email, name string) (tenants.User, error)
	CountUsers(ctx context.Context) (int, error)
	UseSetupToken(ctx context.Context, token string, in tenants.UserInput) (tenants.User, error)

	// Sessions.
	CreateSession(ctx context.Context, userID string, in tenants.SessionInput) (string, tenants.Session, error)
	GetSession(ctx context.Context, token string) (tenants.Session, tenants.User, error)
	DeleteSession(ctx context.Context, token string) error

	// Sign-in throttle.
	SignInAllowed(ctx context.Context, keys ...string) (time.Duration, error)
	SignInFailed(ctx context.Context, keys ...string) error
	SignInSucceeded(ctx context.Context, key string) error

	// Teams and people.
	CreateTeamWithOwner(ctx context.Context, in tenants.TeamInput, ownerID string) (attach.Team, error)
	GetTeam(ctx context.Context, slug string) (attach.Team, error)
	RenameTeam(ctx context.Context, teamID, name string) (attach.Team, error)
	DeleteTeam(ctx context.Context, teamID string) error
	TeamsOf(ctx context.Context, userID string) ([]tenants.Membership, error)
	RoleOf(ctx context.Context, teamID, userID string) (tenants.Role, error)
	ListMembers(ctx context.Context, teamID string) ([]tenants.Member, error)
	SetRole(ctx context.Context, teamID, userID string, role tenants.Role) error
	RemoveMember(ctx context.Context, teamID, userID string) error

	// Invites.
	CreateInvite(ctx context.Context, teamID string, in tenants.InviteInput) (tenants.Invite, string, error)
	ListInvites(ctx context.Context, teamID string) ([]tenants.Invite, error)
	RevokeInvite(ctx context.Context, teamID, id string) error
	InviteByToken(ctx context.Context, token string) (tenants.Invite, attach.Team, error)
	AcceptInvite(ctx context.Context, token, userID string) (tenants.Membership, error)

	// Engines.
	CreateEngine(ctx context.Context, teamID string, in tenants.EngineInput) (attach.Engine, error)
	GetEngine(ctx context.Context, teamID, id string) (attach.Engine, error)
	ListEngines(ctx context.Context, teamID string, page tenants.Page) ([]attach.Engine, string, error)
	UpdateEngine(ctx context.Context, teamID, id string, in tenants.EngineInput) (attach.Engine, error)
	DeleteEngine(ctx context.Context, teamID, id string) error

	// Issuers.
	CreateIssuer(ctx context.Context, teamID string, in tenants.IssuerInput) (attach.Issuer, error)
	GetIssuer(ctx context.Context, teamID, id string) (attach.Issuer, error)
	ListIssuers(ctx context.Context, teamID string, page tenants.Page) ([]attach.Issuer, string, error)
	UpdateIssuer(ctx context.Context, teamID, id string, in tenants.IssuerInput) (attach.Issuer, error)
	DeleteIssuer(ctx context.Context, teamID, id string) error

	// Gateway API keys.
	CreateAPIKey(ctx context.Context, teamID string, in tenants.APIKeyInput) (attach.APIKey, string, error)
	ListAPIKeys(ctx context.Context, teamID string, page tenants.Page) ([]attach.APIKey, string, error)
	RevokeAPIKey(ctx context.Context, teamID, id string) error

	// Audit log.
	ListAudit(ctx context.Context, teamID string, page tenants.Page) ([]tenants.AuditEntry, string, error)
	RecordAudit(ctx context.Context, teamID string, e tenants.AuditEntry) error
}

var _ Store = (*tenants.Store)(nil)
