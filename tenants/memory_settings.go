package tenants

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// MemorySettings are a team's memory choices, part of its configuration:
// the Directory keeps them in each team's Snapshot.
type MemorySettings struct {
	// Backend overrides the install's default (MEM_BACKEND): postgres,
	// weaviate or none. "" keeps the default.
	Backend string
	// EmbedModel names the embedding model a vector sink uses for the
	// team; "" computes no vectors.
	EmbedModel string
}

const maxEmbedModel = 200

// MemorySettings returns the team's memory settings.
func (s *Store) MemorySettings(ctx context.Context, teamID string) (MemorySettings, error) {
	if !attach.ValidID(teamID) {
		return MemorySettings{}, attach.NotFound("team")
	}
	var m MemorySettings
	err := s.pool.QueryRow(ctx, `SELECT coalesce(m.backend, ''), coalesce(m.embed_model, '') FROM teams t
		LEFT JOIN team_memory_settings m ON m.team_id = t.id WHERE t.id = $1`, teamID).Scan(&m.Backend, &m.EmbedModel)
	return m, DBError("memory settings", err)
}

// SetMemorySettings replaces the team's memory settings and returns them.
// A backend must be one of backends: those this install has a sink for.
// The change is audited in its transaction, and every replica's Directory
// reloads the team.
func (s *Store) SetMemorySettings(ctx context.Context, teamID string, in MemorySettings, backends []string) (MemorySettings, error) {
	if !attach.ValidID(teamID) {
		return MemorySettings{}, attach.NotFound("team")
	}
	in.Backend = strings.TrimSpace(in.Backend)
	in.EmbedModel = strings.TrimSpace(in.EmbedModel)
	if in.Backend != "" && !slices.Contains(backends, in.Backend) {
		return MemorySettings{}, attach.Invalid("backend", "must be empty (the default) or one of: "+strings.Join(backends, ", "))
	}
	if len(in.EmbedModel) > maxEmbedModel || strings.IndexFunc(in.EmbedModel, unicode.IsControl) >= 0 {
		return MemorySettings{}, attach.Invalid("embed_model", fmt.Sprintf("must be at most %d printable characters", maxEmbedModel))
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Locking the team orders concurrent changes, so the audit row names
		// the settings this one replaced. NO KEY UPDATE leaves the team's
		// key free: memory writes checking it are not held up.
		t, err := scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1 FOR NO KEY UPDATE", teamID))
		if err != nil {
			return DBError("set memory settings", err)
		}
		var previous string
		err = tx.QueryRow(ctx, "SELECT coalesce(backend, '') FROM team_memory_settings WHERE team_id = $1", teamID).Scan(&previous)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return DBError("set memory settings", err)
		}
		if in == (MemorySettings{}) {
			// Back to the defaults: no row.
			_, err = tx.Exec(ctx, "DELETE FROM team_memory_settings WHERE team_id = $1", teamID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO team_memory_settings (team_id, backend, embed_model)
				VALUES ($1, nullif($2, ''), nullif($3, ''))
				ON CONFLICT (team_id) DO UPDATE SET backend = EXCLUDED.backend, embed_model = EXCLUDED.embed_model, updated_at = now()`,
				teamID, in.Backend, in.EmbedModel)
		}
		if err != nil {
			return DBError("set memory settings", err)
		}
		return audit(ctx, tx, teamAudit(AuditMemorySettings, t, t.ID, map[string]any{
			"backend": backendName(in.Backend), "previous": backendName(previous), "embed_model": in.EmbedModel}))
	})
	if err != nil {
		return MemorySettings{}, err
	}
	return in, nil
}

// ReadMemorySettings reads the memory settings of teams in tx, for the
// memory worker: it delivers by the settings as committed, which the
// Directory may not have yet. A team without a row has the defaults.
func ReadMemorySettings(ctx context.Context, tx pgx.Tx, teamIDs []string) (map[string]MemorySettings, error) {
	rows, err := tx.Query(ctx, "SELECT "+teamMemoryColumns+" FROM team_memory_settings WHERE team_id = ANY($1::uuid[])", teamIDs)
	if err != nil {
		return nil, fmt.Errorf("read memory settings: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (teamMemory, error) { return scanTeamMemory(r) })
	if err != nil {
		return nil, fmt.Errorf("read memory settings: %w", err)
	}
	out := make(map[string]MemorySettings, len(list))
	for _, m := range list {
		out[m.teamID] = m.settings
	}
	return out, nil
}

// backendName is a team's backend as the audit log names it.
func backendName(b string) string {
	if b == "" {
		return "default"
	}
	return b
}

// teamMemory is one row of team_memory_settings, for the Directory.
type teamMemory struct {
	teamID   string
	settings MemorySettings
}

const teamMemoryColumns = "team_id, coalesce(backend, ''), coalesce(embed_model, '')"

func scanTeamMemory(row pgx.Row) (teamMemory, error) {
	var m teamMemory
	err := row.Scan(&m.teamID, &m.settings.Backend, &m.settings.EmbedModel)
	return m, err
}
