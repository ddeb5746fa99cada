package tenants

import (
	"context"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

const teamColumns = "id, slug, name, engine_cookies, created_at, updated_at"

func scanTeam(row pgx.Row) (attach.Team, error) {
	var t attach.Team
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.EngineCookies, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// CreateTeam adds a team; a taken slug is a conflict.
func (s *Store) CreateTeam(ctx context.Context, in TeamInput) (attach.Team, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Team{}, err
	}
	var t attach.Team
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		t, err = insertTeam(ctx, tx, in, nil)
		return err
	})
	return t, err
}

// insertTeam adds a team and audits it; detail adds to the audit row.
func insertTeam(ctx context.Context, tx pgx.Tx, in TeamInput, detail map[string]any) (attach.Team, error) {
	id, err := attach.NewID()
	if err != nil {
		return attach.Team{}, err
	}
	t, err := scanTeam(tx.QueryRow(ctx,
		"INSERT INTO teams (id, slug, name, engine_cookies) VALUES ($1, $2, $3, $4) RETURNING "+teamColumns,
		id, in.Slug, in.Name, in.EngineCookies != nil && *in.EngineCookies))
	if err != nil {
		return attach.Team{}, DBError("create team", err)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["slug"], detail["name"], detail["engine_cookies"] = t.Slug, t.Name, t.EngineCookies
	return t, audit(ctx, tx, teamAudit(AuditTeamCreate, t, t.ID, detail))
}

// teamAudit is the audit row of a change to the team itself, filed under
// logTeamID ("" when the team is being deleted, so the row outlives it).
func teamAudit(action string, t attach.Team, logTeamID string, detail map[string]any) AuditEntry {
	return AuditEntry{TeamID: logTeamID, Action: action, TargetType: "team", TargetID: t.ID, TargetName: t.Name, Detail: detail}
}

// GetTeam finds a team by slug.
func (s *Store) GetTeam(ctx context.Context, slug string) (attach.Team, error) {
	if !attach.ValidSlug(slug) {
		return attach.Team{}, attach.NotFound("team")
	}
	t, err := scanTeam(s.pool.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE slug = $1", slug))
	return t, DBError("get team", err)
}

// GetTeamByID finds a team by id.
func (s *Store) GetTeamByID(ctx context.Context, id string) (attach.Team, error) {
	if !attach.ValidID(id) {
		return attach.Team{}, attach.NotFound("team")
	}
	t, err := scanTeam(s.pool.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1", id))
	return t, DBError("get team", err)
}

// ListTeams returns one page of teams in creation order and the cursor of
// the next page ("" on the last).
func (s *Store) ListTeams(ctx context.Context, page Page) ([]attach.Team, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx,
		"SELECT "+teamColumns+" FROM teams WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
		page.afterArg(), page.Limit+1)
	if err != nil {
		return nil, "", DBError("list teams", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (attach.Team, error) { return scanTeam(r) })
	if err != nil {
		return nil, "", DBError("list teams", err)
	}
	list, next := cut(list, page.Limit, func(t attach.Team) string { return t.ID })
	return list, next, nil
}

// UpdateTeam changes the team with slug: its name, its slug (and so its
// URL) and whether its engines may set cookies. An empty in.Slug or
// in.Name, or a nil in.EngineCookies, keeps what is stored, so a caller
// changes only what it names.
func (s *Store) UpdateTeam(ctx context.Context, slug string, in TeamInput) (attach.Team, error) {
	if !attach.ValidSlug(slug) {
		return attach.Team{}, attach.NotFound("team")
	}
	var t attach.Team
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE slug = $1 FOR UPDATE", slug))
		if err != nil {
			return DBError("update team", err)
		}
		// Filled from the locked row, so a concurrent change to a field
		// this caller left out is not undone.
		set, err := in.over(old)
		if err != nil {
			return err
		}
		t, err = scanTeam(tx.QueryRow(ctx,
			"UPDATE teams SET slug = $2, name = $3, engine_cookies = $4, updated_at = now() WHERE id = $1 RETURNING "+teamColumns,
			old.ID, set.Slug, set.Name, *set.EngineCookies))
		if err != nil {
			return DBError("update team", err)
		}
		return audit(ctx, tx, teamAudit(AuditTeamUpdate, t, t.ID, map[string]any{
			"slug": t.Slug, "name": t.Name, "engine_cookies": t.EngineCookies,
			"previous_slug": old.Slug, "previous_name": old.Name, "previous_engine_cookies": old.EngineCookies}))
	})
	return t, err
}

// RenameTeam sets the display name of a team; its slug, and so its URL,
// stays.
func (s *Store) RenameTeam(ctx context.Context, teamID, name string) (attach.Team, error) {
	name, err := displayName("name", name)
	if err != nil {
		return attach.Team{}, err
	}
	if !attach.ValidID(teamID) {
		return attach.Team{}, attach.NotFound("team")
	}
	var t attach.Team
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var previous string
		if err := tx.QueryRow(ctx, "SELECT name FROM teams WHERE id = $1 FOR UPDATE", teamID).Scan(&previous); err != nil {
			return DBError("rename team", err)
		}
		t, err = scanTeam(tx.QueryRow(ctx,
			"UPDATE teams SET name = $2, updated_at = now() WHERE id = $1 RETURNING "+teamColumns, teamID, name))
		if err != nil {
			return DBError("rename team", err)
		}
		return audit(ctx, tx, teamAudit(AuditTeamRename, t, t.ID, map[string]any{"name": t.Name, "previous_name": previous}))
	})
	return t, err
}

// DeleteTeam removes a team and, by cascade, everything it configured, its
// members, invites and audit log. The deletion itself is audited
// install-wide, so that row survives.
func (s *Store) DeleteTeam(ctx context.Context, teamID string) error {
	if !attach.ValidID(teamID) {
		return attach.NotFound("team")
	}
	return s.deleteTeam(ctx, "id", teamID)
}

// DeleteTeamBySlug is DeleteTeam for the team with slug, for routes that
// name teams by slug.
func (s *Store) DeleteTeamBySlug(ctx context.Context, slug string) error {
	if !attach.ValidSlug(slug) {
		return attach.NotFound("team")
	}
	return s.deleteTeam(ctx, "slug", slug)
}

// deleteTeam deletes the team whose column (a constant) equals value.
func (s *Store) deleteTeam(ctx context.Context, column, value string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTeam(tx.QueryRow(ctx, "DELETE FROM teams WHERE "+column+" = $1 RETURNING "+teamColumns, value))
		if err != nil {
			return DBError("delete team", err)
		}
		return audit(ctx, tx, teamAudit(AuditTeamDelete, t, "", map[string]any{"slug": t.Slug, "name": t.Name}))
	})
}
