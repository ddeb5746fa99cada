package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// EnsureTeam creates the team with in.Slug or, when it exists, sets its
// name. It is idempotent and safe to run from several replicas at once; an
// unchanged team is not written (no reload is signalled, nothing audited).
func (s *Store) EnsureTeam(ctx context.Context, in TeamInput) (attach.Team, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Team{}, err
	}
	id, err := attach.NewID()
	if err != nil {
		return attach.Team{}, err
	}
	var t attach.Team
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// xmax is 0 on a row this statement inserted, not on one it updated.
		var inserted bool
		err := tx.QueryRow(ctx,
			`INSERT INTO teams (id, slug, name) VALUES ($1, $2, $3)
			 ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
			   WHERE teams.name IS DISTINCT FROM EXCLUDED.name
			 RETURNING `+teamColumns+`, xmax = 0`,
			id, in.Slug, in.Name).Scan(&t.ID, &t.Slug, &t.Name, &t.EngineCookies, &t.CreatedAt, &t.UpdatedAt, &inserted)
		if errors.Is(err, pgx.ErrNoRows) { // already as asked
			t, err = scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE slug = $1", in.Slug))
			return DBError("ensure team", err)
		}
		if err != nil {
			return DBError("ensure team", err)
		}
		action := AuditTeamUpdate
		if inserted {
			action = AuditTeamCreate
		}
		return audit(ctx, tx, teamAudit(action, t, t.ID, map[string]any{"slug": t.Slug, "name": t.Name}))
	})
	return t, err
}
