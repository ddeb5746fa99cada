package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// EnsureTeam creates the team with in.Slug or, when it exists, sets its
// name. It is idempotent and safe to run from several replicas at once; an
// unchanged team is not written (no reload is signalled).
func (s *Store) EnsureTeam(ctx context.Context, in TeamInput) (Team, error) {
	in, err := in.normalize()
	if err != nil {
		return Team{}, err
	}
	id, err := newID()
	if err != nil {
		return Team{}, err
	}
	t, err := scanTeam(s.pool.QueryRow(ctx,
		`INSERT INTO teams (id, slug, name) VALUES ($1, $2, $3)
		 ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
		   WHERE teams.name IS DISTINCT FROM EXCLUDED.name
		 RETURNING `+teamColumns,
		id, in.Slug, in.Name))
	if errors.Is(err, pgx.ErrNoRows) { // already as asked
		t, err = scanTeam(s.pool.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE slug = $1", in.Slug))
	}
	return t, dbErr("ensure team", err)
}
