package tenants

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Membership is one team a user belongs to, and the role there.
type Membership struct {
	Team attach.Team `json:"team"`
	Role Role        `json:"role"`
}

// Member is one user of a team.
type Member struct {
	User  User      `json:"user"`
	Role  Role      `json:"role"`
	Since time.Time `json:"since"`
}

// CreateTeamWithOwner adds a team and makes ownerID its owner, both or
// neither. A taken slug is a conflict; an unknown user not found.
func (s *Store) CreateTeamWithOwner(ctx context.Context, in TeamInput, ownerID string) (attach.Team, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Team{}, err
	}
	if !attach.ValidID(ownerID) {
		return attach.Team{}, attach.NotFound("user")
	}
	var t attach.Team
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		t, err = insertTeam(ctx, tx, in, map[string]any{"owner_id": ownerID})
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO memberships (team_id, user_id, role) VALUES ($1, $2, $3)", t.ID, ownerID, RoleOwner)
		return DBError("add team owner", err)
	})
	return t, err
}

// TeamsOf lists the teams userID belongs to, by team name.
func (s *Store) TeamsOf(ctx context.Context, userID string) ([]Membership, error) {
	if !attach.ValidID(userID) {
		return []Membership{}, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT t.id, t.slug, t.name, t.engine_cookies, t.created_at, t.updated_at, m.role
		 FROM memberships m JOIN teams t ON t.id = m.team_id
		 WHERE m.user_id = $1 ORDER BY lower(t.name), t.id`, userID)
	if err != nil {
		return nil, DBError("list teams of user", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Membership, error) {
		var m Membership
		err := r.Scan(&m.Team.ID, &m.Team.Slug, &m.Team.Name, &m.Team.EngineCookies, &m.Team.CreatedAt, &m.Team.UpdatedAt, &m.Role)
		return m, err
	})
	return list, DBError("list teams of user", err)
}

// RoleOf is userID's role in teamID; not found when not a member.
func (s *Store) RoleOf(ctx context.Context, teamID, userID string) (Role, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(userID) {
		return "", attach.NotFound("member")
	}
	var r Role
	err := s.pool.QueryRow(ctx, "SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2", teamID, userID).Scan(&r)
	return r, DBError("get member", err)
}

// ListMembers lists a team's members, owners first, then by email.
func (s *Store) ListMembers(ctx context.Context, teamID string) ([]Member, error) {
	if !attach.ValidID(teamID) {
		return nil, attach.NotFound("team")
	}
	rows, err := s.pool.Query(ctx,
		`SELECT u.id, u.email, u.name, u.password_hash IS NOT NULL, coalesce(u.oidc_issuer, ''), u.created_at,
		        u.last_sign_in_at, u.locked_at, m.role, m.created_at
		 FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.team_id = $1
		 ORDER BY `+roleRankSQL("m.role")+` DESC, lower(u.email)`, teamID)
	if err != nil {
		return nil, DBError("list members", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		u := &m.User
		err := r.Scan(&u.ID, &u.Email, &u.Name, &u.HasPassword, &u.OIDCIssuer, &u.CreatedAt, &u.LastSignInAt, &u.LockedAt, &m.Role, &m.Since)
		return m, err
	})
	return list, DBError("list members", err)
}

// AddMember makes userID a member of teamID with role, without an invite
// (the command line, an install's own tooling). Someone already a member is
// a conflict: SetRole changes roles. An unknown team or user is
// not found.
func (s *Store) AddMember(ctx context.Context, teamID, userID string, role Role) error {
	if !role.Valid() {
		return attach.Invalid("role", "must be owner, admin, member or viewer")
	}
	if !attach.ValidID(teamID) {
		return attach.NotFound("team")
	}
	if !attach.ValidID(userID) {
		return attach.NotFound("user")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx,
			`INSERT INTO memberships (team_id, user_id, role) VALUES ($1, $2, $3)
			 RETURNING (SELECT email FROM users WHERE id = $2)`, teamID, userID, role).Scan(&email)
		if err != nil {
			return DBError("add member", err)
		}
		return audit(ctx, tx, AuditEntry{TeamID: teamID, Action: AuditMemberAdd, TargetType: "user", TargetID: userID,
			TargetName: email, Detail: map[string]any{"role": role}})
	})
}

// SetRole changes a member's role; setting the role they already have
// changes (and audits) nothing. Demoting the team's last owner is
// attach.CodeLastOwner; a user who is not a member is not found. Who may
// make the change is the caller's business (Role.CanAssign).
func (s *Store) SetRole(ctx context.Context, teamID, userID string, role Role) error {
	if !role.Valid() {
		return attach.Invalid("role", "must be owner, admin, member or viewer")
	}
	if !attach.ValidID(userID) {
		return attach.NotFound("member")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		m, err := lockMember(ctx, tx, teamID, userID)
		if err != nil {
			return err
		}
		if m.Role == role {
			return nil
		}
		if m.Role == RoleOwner {
			if err := keepAnOwner(ctx, tx, teamID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE memberships SET role = $3 WHERE team_id = $1 AND user_id = $2", teamID, userID, role); err != nil {
			return DBError("set role", err)
		}
		return audit(ctx, tx, AuditEntry{TeamID: teamID, Action: AuditMemberRole, TargetType: "user", TargetID: userID,
			TargetName: m.User.Email, Detail: map[string]any{"role": role, "previous_role": m.Role}})
	})
}

// RemoveMember takes a user out of a team (leaving it, when the user asks).
// Removing the last owner is attach.CodeLastOwner.
func (s *Store) RemoveMember(ctx context.Context, teamID, userID string) error {
	if !attach.ValidID(userID) {
		return attach.NotFound("member")
	}
	return s.dropMember(ctx, teamID, userID, AuditMemberRemove)
}

// dropMember deletes a membership, never the team's last owner, and audits
// it as action (a removal, or the member leaving).
func (s *Store) dropMember(ctx context.Context, teamID, userID, action string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		m, err := lockMember(ctx, tx, teamID, userID)
		if err != nil {
			return err
		}
		if m.Role == RoleOwner {
			if err := keepAnOwner(ctx, tx, teamID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM memberships WHERE team_id = $1 AND user_id = $2", teamID, userID); err != nil {
			return DBError("remove member", err)
		}
		return audit(ctx, tx, AuditEntry{TeamID: teamID, Action: action, TargetType: "user", TargetID: userID,
			TargetName: m.User.Email, Detail: map[string]any{"role": m.Role}})
	})
}

// lockMember takes the team lock, so that changes to a team's owners run
// one after the other and each sees the last one's result, then reads the
// member.
func lockMember(ctx context.Context, tx pgx.Tx, teamID, userID string) (Member, error) {
	if err := lockTeam(ctx, tx, teamID); err != nil {
		return Member{}, err
	}
	var m Member
	err := tx.QueryRow(ctx,
		`SELECT m.role, m.created_at, u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.team_id = $1 AND m.user_id = $2`, teamID, userID).Scan(&m.Role, &m.Since, &m.User.ID, &m.User.Email)
	return m, DBError("member", err)
}

// keepAnOwner refuses a change that takes away one owner when there is
// only one. The caller holds the team lock.
func keepAnOwner(ctx context.Context, tx pgx.Tx, teamID string) error {
	var owners int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE team_id = $1 AND role = 'owner'", teamID).Scan(&owners); err != nil {
		return DBError("count owners", err)
	}
	if owners <= 1 {
		return attach.Errorf(attach.CodeLastOwner, "a team must keep at least one owner")
	}
	return nil
}
