package tenants

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const teamColumns = "id, slug, name, created_at, updated_at"

func scanTeam(row pgx.Row) (Team, error) {
	var t Team
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// CreateTeam adds a team; a taken slug is ErrConflict.
func (s *Store) CreateTeam(ctx context.Context, in TeamInput) (Team, error) {
	in, err := in.normalize()
	if err != nil {
		return Team{}, err
	}
	id, err := newID()
	if err != nil {
		return Team{}, err
	}
	t, err := scanTeam(s.pool.QueryRow(ctx,
		"INSERT INTO teams (id, slug, name) VALUES ($1, $2, $3) RETURNING "+teamColumns,
		id, in.Slug, in.Name))
	return t, dbErr("create team", err)
}

// GetTeam finds a team by slug.
func (s *Store) GetTeam(ctx context.Context, slug string) (Team, error) {
	if !slugPattern.MatchString(slug) {
		return Team{}, notFound("team")
	}
	t, err := scanTeam(s.pool.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE slug = $1", slug))
	return t, dbErr("get team", err)
}

// GetTeamByID finds a team by id.
func (s *Store) GetTeamByID(ctx context.Context, id string) (Team, error) {
	if !validID(id) {
		return Team{}, notFound("team")
	}
	t, err := scanTeam(s.pool.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1", id))
	return t, dbErr("get team", err)
}

// ListTeams returns one page of teams in creation order and the cursor of
// the next page ("" on the last).
func (s *Store) ListTeams(ctx context.Context, page Page) ([]Team, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx,
		"SELECT "+teamColumns+" FROM teams WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
		page.afterArg(), page.Limit+1)
	if err != nil {
		return nil, "", dbErr("list teams", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Team, error) { return scanTeam(r) })
	if err != nil {
		return nil, "", dbErr("list teams", err)
	}
	list, next := cut(list, page.Limit, func(t Team) string { return t.ID })
	return list, next, nil
}

// UpdateTeam renames the team with slug; in.Slug, when set and different,
// changes the slug too (and so its URL). An empty in.Slug keeps it.
func (s *Store) UpdateTeam(ctx context.Context, slug string, in TeamInput) (Team, error) {
	if !slugPattern.MatchString(slug) {
		return Team{}, notFound("team")
	}
	if in.Slug == "" {
		in.Slug = slug
	}
	in, err := in.normalize()
	if err != nil {
		return Team{}, err
	}
	t, err := scanTeam(s.pool.QueryRow(ctx,
		"UPDATE teams SET slug = $2, name = $3, updated_at = now() WHERE slug = $1 RETURNING "+teamColumns,
		slug, in.Slug, in.Name))
	return t, dbErr("update team", err)
}

// DeleteTeam removes a team and, by cascade, everything it configured.
func (s *Store) DeleteTeam(ctx context.Context, slug string) error {
	if !slugPattern.MatchString(slug) {
		return notFound("team")
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM teams WHERE slug = $1", slug)
	if err != nil {
		return dbErr("delete team", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete team")
	}
	return nil
}
