package tenants

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	attach "github.com/attach-dev/attach-gateway"
)

// Actions in the audit log. The store writes the changes; the console
// records the session events with RecordAudit.
const (
	AuditTeamCreate      = "team.create"
	AuditTeamUpdate      = "team.update"
	AuditTeamRename      = "team.rename"
	AuditTeamDelete      = "team.delete"
	AuditIssuerCreate    = "issuer.create"
	AuditIssuerUpdate    = "issuer.update"
	AuditIssuerDelete    = "issuer.delete"
	AuditEngineCreate    = "engine.create"
	AuditEngineUpdate    = "engine.update"
	AuditEngineDelete    = "engine.delete"
	AuditAgentCreate     = "agent.create"
	AuditAgentUpdate     = "agent.update"
	AuditAgentDelete     = "agent.delete"
	AuditMCPServerCreate = "mcp_server.create"
	AuditMCPServerUpdate = "mcp_server.update"
	AuditMCPServerDelete = "mcp_server.delete"
	AuditAPIKeyCreate    = "apikey.create"
	AuditAPIKeyUpdate    = "apikey.update"
	AuditAPIKeyRevoke    = "apikey.revoke"
	AuditMemorySettings  = "memory.settings"
	AuditDIDPolicy       = "did.policy"
	AuditQuotas          = "quotas.set"
	AuditMemberAdd       = "member.add"
	AuditMemberRole      = "member.role"
	AuditMemberRemove    = "member.remove"
	AuditInviteCreate    = "invite.create"
	AuditInviteRevoke    = "invite.revoke"
	AuditInviteAccept    = "invite.accept"
	AuditUserCreate      = "user.create"
	AuditUserPassword    = "user.password"
	AuditSetupComplete   = "setup.complete"
	AuditSignIn          = "session.sign_in"
	AuditSignOut         = "session.sign_out"
	AuditSignInFailed    = "session.sign_in_failed"
	AuditSignInThrottle  = "session.sign_in_throttled"
)

// AuditEntry is one row of the audit log. Detail never holds a secret: the
// store writes names, URLs, scopes and roles, never keys or tokens.
type AuditEntry struct {
	ID         string         `json:"id"`
	TeamID     string         `json:"team_id,omitempty"`  // "" for install-wide events
	ActorID    string         `json:"actor_id,omitempty"` // user or API key id
	ActorName  string         `json:"actor"`              // email or name, "admin token", "apikey:<id>"
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"` // "team", "engine", "user", ...
	TargetID   string         `json:"target_id,omitempty"`
	TargetName string         `json:"target_name,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
	ActorIP    string         `json:"ip,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

const auditColumns = `id, coalesce(team_id::text, ''), coalesce(actor_id::text, ''), actor, action,
	target_type, target_id, target_name, detail, ip, created_at`

func scanAudit(row pgx.Row) (AuditEntry, error) {
	var e AuditEntry
	err := row.Scan(&e.ID, &e.TeamID, &e.ActorID, &e.ActorName, &e.Action,
		&e.TargetType, &e.TargetID, &e.TargetName, &e.Detail, &e.ActorIP, &e.CreatedAt)
	return e, err
}

// execer is a transaction or the pool.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// audit records a change made in tx, when ctx carries an Actor; without one
// it writes nothing. Written in the change's transaction, the row exists if
// and only if the change does.
func audit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil
	}
	e.ActorID, e.ActorName, e.ActorIP = a.ID, a.Name, a.IP
	return insertAudit(ctx, tx, e)
}

// RecordAudit writes an event that is not a store change: a sign-in, a
// sign-out, a refused sign-in. teamID "" makes it install-wide. Fields of e
// left empty are taken from the context's Actor. The caller keeps secrets
// (passwords, tokens) out of e.Detail.
func (s *Store) RecordAudit(ctx context.Context, teamID string, e AuditEntry) error {
	e.TeamID = teamID
	if a, ok := ActorFrom(ctx); ok {
		if e.ActorName == "" && e.ActorID == "" {
			e.ActorID, e.ActorName = a.ID, a.Name
		}
		if e.ActorIP == "" {
			e.ActorIP = a.IP
		}
	}
	if strings.TrimSpace(e.Action) == "" {
		return attach.Invalid("action", "is required")
	}
	return insertAudit(ctx, s.pool, e)
}

func insertAudit(ctx context.Context, db execer, e AuditEntry) error {
	if e.TeamID != "" && !attach.ValidID(e.TeamID) {
		return attach.NotFound("audit: team")
	}
	if e.ActorID != "" && !attach.ValidID(e.ActorID) {
		return errors.New("audit: the actor id is not a UUID")
	}
	if e.ActorName == "" {
		e.ActorName = "unknown"
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	id, err := attach.NewID()
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx,
		`INSERT INTO audit_log (id, team_id, actor_id, actor, action, target_type, target_id, target_name, detail, ip)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, nullIfEmpty(e.TeamID), nullIfEmpty(e.ActorID), attach.CutUTF8(e.ActorName, 320), attach.CutUTF8(e.Action, 100),
		attach.CutUTF8(e.TargetType, 50), attach.CutUTF8(e.TargetID, 200), attach.CutUTF8(e.TargetName, 200), e.Detail, attach.CutUTF8(e.ActorIP, 100))
	return DBError("write audit log", err)
}

// ListAudit returns one page of a team's audit log, newest first; teamID ""
// lists the install-wide events. Page.After is the cursor from the previous
// page.
func (s *Store) ListAudit(ctx context.Context, teamID string, page Page) ([]AuditEntry, string, error) {
	return s.ListAuditFiltered(ctx, teamID, AuditFilter{}, page)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
