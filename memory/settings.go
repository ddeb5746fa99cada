package memory

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TeamSettings are a team's memory choices.
type TeamSettings struct {
	// Backend overrides the install's default: postgres, weaviate or none.
	// "" keeps the default.
	Backend string `json:"backend"`
	// EmbedModel names the embedding model a vector sink uses for the
	// team; "" is the sink's default.
	EmbedModel string `json:"embed_model"`
	// Effective is the backend in force; it is read only.
	Effective string `json:"effective_backend"`
}

const maxEmbedModel = 200

// Settings returns the team's memory settings.
func (s *Store) Settings(ctx context.Context, teamID string) (TeamSettings, error) {
	if !attach.ValidID(teamID) {
		return TeamSettings{}, attach.Errorf(attach.CodeNotFound, "memory settings: team not found")
	}
	var backend, model *string
	err := s.pool.QueryRow(ctx, `SELECT s.backend, s.embed_model FROM teams t
		LEFT JOIN team_memory_settings s ON s.team_id = t.id WHERE t.id = $1`, teamID).Scan(&backend, &model)
	if err != nil {
		return TeamSettings{}, tenants.DBError("memory settings", err)
	}
	var out TeamSettings
	if backend != nil {
		out.Backend = *backend
	}
	if model != nil {
		out.EmbedModel = *model
	}
	out.Effective = s.resolveName(out.Backend)
	return out, nil
}

// SetSettings replaces the team's memory settings and returns them. A
// backend must be one this install has a sink for. Every replica learns of
// the change through Postgres.
func (s *Store) SetSettings(ctx context.Context, teamID string, in TeamSettings) (TeamSettings, error) {
	if !attach.ValidID(teamID) {
		return TeamSettings{}, attach.Errorf(attach.CodeNotFound, "set memory settings: team not found")
	}
	in.Backend = strings.TrimSpace(in.Backend)
	in.EmbedModel = strings.TrimSpace(in.EmbedModel)
	if in.Backend != "" && !s.sinks.Has(in.Backend) {
		return TeamSettings{}, attach.Invalid("backend", "must be empty (the default) or one of: "+strings.Join(s.sinks.Names(), ", "))
	}
	if len(in.EmbedModel) > maxEmbedModel || strings.IndexFunc(in.EmbedModel, unicode.IsControl) >= 0 {
		return TeamSettings{}, attach.Invalid("embed_model", fmt.Sprintf("must be at most %d printable characters", maxEmbedModel))
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if in.Backend == "" && in.EmbedModel == "" {
			// Back to the defaults: no row. Still check the team exists.
			if _, err := teamBackend(ctx, tx, teamID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DELETE FROM team_memory_settings WHERE team_id = $1", teamID)
			return tenants.DBError("set memory settings", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO team_memory_settings (team_id, backend, embed_model)
			VALUES ($1, $2, $3)
			ON CONFLICT (team_id) DO UPDATE SET backend = $2, embed_model = $3, updated_at = now()`,
			teamID, nullable(in.Backend), nullable(in.EmbedModel))
		return tenants.DBError("set memory settings", err)
	})
	if err != nil {
		return TeamSettings{}, err
	}
	in.Effective = s.resolveName(in.Backend)
	return in, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
