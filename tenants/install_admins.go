package tenants

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// The install's administrators see every team and user of the install and
// may lock and remove accounts. A user is one by the stored flag
// (User.InstallAdmin) or, outside the store, by a verified address the
// install names (ATTACH_INSTALL_ADMINS, read by the console and the app).

// Audit actions of the install's administrators.
const (
	AuditUserLock         = "user.lock"
	AuditUserUnlock       = "user.unlock"
	AuditUserDelete       = "user.delete"
	AuditUserInstallAdmin = "user.install_admin"
)

// ReasonAccountLocked is the Reason of the error a locked account's
// sign-in gets.
const ReasonAccountLocked = "account_locked"

// ErrAccountLocked is the refusal of a sign-in to a locked account.
func ErrAccountLocked() error {
	return &attach.Error{Code: attach.CodeForbidden, Reason: ReasonAccountLocked,
		Message: "this account is locked by the install's administrators; ask one of them to unlock it"}
}

// MaxSessionGroups bounds the provider groups kept with a session.
const MaxSessionGroups = 200

// boundGroups keeps at most MaxSessionGroups distinct, valid group names
// of at most 256 bytes; never nil, as the column is NOT NULL.
func boundGroups(in []string) []string {
	out := make([]string, 0, min(len(in), MaxSessionGroups))
	for _, g := range in {
		if len(out) == MaxSessionGroups {
			break
		}
		g = strings.TrimSpace(g)
		if g == "" || len(g) > 256 || strings.ContainsRune(g, 0) || !validUTF8(g) || slices.Contains(out, g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// UserTeam is one team of a user in the install's list of users.
type UserTeam struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// UserWithTeams is a user and every team the user belongs to.
type UserWithTeams struct {
	User
	Teams []UserTeam `json:"teams"`
}

// ListUsers returns one page of every user of the install, in creation
// order, each with the teams they belong to.
func (s *Store) ListUsers(ctx context.Context, page Page) ([]UserWithTeams, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+userColumns+`,
		   coalesce((SELECT json_agg(json_build_object('id', t.id, 'slug', t.slug, 'name', t.name, 'role', m.role)
		                             ORDER BY lower(t.name), t.id)
		             FROM memberships m JOIN teams t ON t.id = m.team_id WHERE m.user_id = users.id), '[]')
		 FROM users WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
		page.afterArg(), page.Limit+1)
	if err != nil {
		return nil, "", DBError("list users", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UserWithTeams, error) {
		var u UserWithTeams
		err := r.Scan(append(userDest(&u.User), &u.Teams)...)
		return u, err
	})
	if err != nil {
		return nil, "", DBError("list users", err)
	}
	list, next := cut(list, page.Limit, func(u UserWithTeams) string { return u.ID })
	return list, next, nil
}

// GetUserWithTeams finds a user by id, with their teams.
func (s *Store) GetUserWithTeams(ctx context.Context, id string) (UserWithTeams, error) {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return UserWithTeams{}, err
	}
	ms, err := s.TeamsOf(ctx, id)
	if err != nil {
		return UserWithTeams{}, err
	}
	out := UserWithTeams{User: u, Teams: make([]UserTeam, 0, len(ms))}
	for _, m := range ms {
		out.Teams = append(out.Teams, UserTeam{ID: m.Team.ID, Slug: m.Team.Slug, Name: m.Team.Name, Role: m.Role})
	}
	return out, nil
}

// TeamSummary is a team in the install's list of teams.
type TeamSummary struct {
	attach.Team
	Members int `json:"members"`
	Owners  int `json:"owners"`
}

// ListTeamSummaries is ListTeams with each team's member and owner counts.
func (s *Store) ListTeamSummaries(ctx context.Context, page Page) ([]TeamSummary, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx,
		`SELECT t.id, t.slug, t.name, t.engine_cookies, t.created_at, t.updated_at,
		        (SELECT count(*) FROM memberships m WHERE m.team_id = t.id),
		        (SELECT count(*) FROM memberships m WHERE m.team_id = t.id AND m.role = 'owner')
		 FROM teams t WHERE ($1::uuid IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2`,
		page.afterArg(), page.Limit+1)
	if err != nil {
		return nil, "", DBError("list teams", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TeamSummary, error) {
		var t TeamSummary
		err := r.Scan(&t.ID, &t.Slug, &t.Name, &t.EngineCookies, &t.CreatedAt, &t.UpdatedAt, &t.Members, &t.Owners)
		return t, err
	})
	if err != nil {
		return nil, "", DBError("list teams", err)
	}
	list, next := cut(list, page.Limit, func(t TeamSummary) string { return t.ID })
	return list, next, nil
}

// LockUser keeps a user from signing in and ends every console session
// of theirs in the same transaction; the console tokens minted for those
// sessions stop on their next call (ConsoleAccess). Locking a locked user
// changes nothing. Who may lock whom is the caller's business.
func (s *Store) LockUser(ctx context.Context, id string) (User, error) {
	return s.setLock(ctx, id, true)
}

// UnlockUser lets a locked user sign in again.
func (s *Store) UnlockUser(ctx context.Context, id string) (User, error) {
	return s.setLock(ctx, id, false)
}

func (s *Store) setLock(ctx context.Context, id string, lock bool) (User, error) {
	if !attach.ValidID(id) {
		return User{}, attach.NotFound("user")
	}
	var u User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return DBError("get user", err)
		}
		if (u.LockedAt != nil) == lock {
			return nil
		}
		action, sessions := AuditUserUnlock, int64(0)
		if lock {
			action = AuditUserLock
			tag, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE user_id = $1", id)
			if err != nil {
				return DBError("end sessions", err)
			}
			sessions = tag.RowsAffected()
			err = tx.QueryRow(ctx, "UPDATE users SET locked_at = now() WHERE id = $1 RETURNING locked_at", id).Scan(&u.LockedAt)
			if err != nil {
				return DBError("lock user", err)
			}
		} else {
			if _, err := tx.Exec(ctx, "UPDATE users SET locked_at = NULL WHERE id = $1", id); err != nil {
				return DBError("unlock user", err)
			}
			u.LockedAt = nil
		}
		detail := map[string]any{}
		if lock {
			detail["sessions_ended"] = sessions
		}
		return auditUser(ctx, tx, u, action, detail)
	})
	return u, err
}

// SetInstallAdmin sets or clears the stored install administrator flag.
func (s *Store) SetInstallAdmin(ctx context.Context, id string, on bool) (User, error) {
	if !attach.ValidID(id) {
		return User{}, attach.NotFound("user")
	}
	var u User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return DBError("get user", err)
		}
		if u.InstallAdmin == on {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET install_admin = $2 WHERE id = $1", id, on); err != nil {
			return DBError("set install admin", err)
		}
		u.InstallAdmin = on
		return auditUser(ctx, tx, u, AuditUserInstallAdmin, map[string]any{"install_admin": on})
	})
	return u, err
}

// DeleteUser removes a user: their memberships and sessions go with the
// account (the console tokens of those sessions stop on their next call);
// API keys they made stay with their teams. A user who is the only owner
// of a team is not removed: attach.CodeLastOwner, naming the teams, so an
// owner is named or the team deleted first. Each team the user leaves
// records the removal in its audit log, and the install's log records the
// deletion.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if !attach.ValidID(id) {
		return attach.NotFound("user")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return DBError("get user", err)
		}
		ms, err := teamsOfTx(ctx, tx, id)
		if err != nil {
			return err
		}
		// Team locks in id order, as every owner change takes them, so no
		// owner can leave any of these teams while the user goes.
		slices.SortFunc(ms, func(a, b Membership) int { return strings.Compare(a.Team.ID, b.Team.ID) })
		var sole []string
		for _, m := range ms {
			if err := lockTeam(ctx, tx, m.Team.ID); err != nil {
				return err
			}
			if m.Role != RoleOwner {
				continue
			}
			var owners int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM memberships WHERE team_id = $1 AND role = 'owner'", m.Team.ID).Scan(&owners); err != nil {
				return DBError("count owners", err)
			}
			if owners <= 1 {
				sole = append(sole, m.Team.Slug)
			}
		}
		if len(sole) > 0 {
			slices.Sort(sole)
			return attach.Errorf(attach.CodeLastOwner, "%s is the only owner of team %s: make someone else an owner there, or delete the team, first",
				u.Email, strings.Join(sole, ", "))
		}
		for _, m := range ms {
			if err := audit(ctx, tx, AuditEntry{TeamID: m.Team.ID, Action: AuditMemberRemove, TargetType: "user", TargetID: u.ID,
				TargetName: u.Email, Detail: map[string]any{"role": m.Role, "why": "the user was removed from the install"}}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
			return DBError("delete user", err)
		}
		teams := make([]string, 0, len(ms))
		for _, m := range ms {
			teams = append(teams, m.Team.Slug)
		}
		return auditUser(ctx, tx, u, AuditUserDelete, map[string]any{"email": u.Email, "teams": teams})
	})
}

// teamsOfTx lists a user's memberships inside tx.
func teamsOfTx(ctx context.Context, tx pgx.Tx, userID string) ([]Membership, error) {
	rows, err := tx.Query(ctx,
		`SELECT t.id, t.slug, t.name, m.role FROM memberships m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1`, userID)
	if err != nil {
		return nil, DBError("list teams of user", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Membership, error) {
		var m Membership
		err := r.Scan(&m.Team.ID, &m.Team.Slug, &m.Team.Name, &m.Role)
		return m, err
	})
	return list, DBError("list teams of user", err)
}

// auditUser records an install administrator's change to an account in
// the install's log, whoever acts: without an actor in ctx (a command on
// the server) the row names the install.
func auditUser(ctx context.Context, tx pgx.Tx, u User, action string, detail map[string]any) error {
	e := AuditEntry{Action: action, TargetType: "user", TargetID: u.ID, TargetName: u.Email, Detail: detail}
	if a, ok := ActorFrom(ctx); ok {
		e.ActorID, e.ActorName, e.ActorIP = a.ID, a.Name, a.IP
	} else {
		e.ActorName = "install"
	}
	return insertAudit(ctx, tx, e)
}
