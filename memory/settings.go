package memory

import (
	"context"

	"github.com/attach-dev/attach-gateway/tenants"
)

// TeamSettings are a team's memory settings as the management API and the
// console show them: what the team chose (kept by the tenants store with
// the rest of its configuration) and the backend in force.
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

// Settings returns the team's memory settings.
func (s *Store) Settings(ctx context.Context, teamID string) (TeamSettings, error) {
	m, err := s.teams.MemorySettings(ctx, teamID)
	if err != nil {
		return TeamSettings{}, err
	}
	return s.withEffective(m), nil
}

// SetSettings replaces the team's memory settings, audited in the change's
// transaction, and returns them. A backend must be one this install has a
// sink for.
func (s *Store) SetSettings(ctx context.Context, teamID string, in TeamSettings) (TeamSettings, error) {
	m, err := s.teams.SetMemorySettings(ctx, teamID,
		tenants.MemorySettings{Backend: in.Backend, EmbedModel: in.EmbedModel}, s.sinks.Names())
	if err != nil {
		return TeamSettings{}, err
	}
	return s.withEffective(m), nil
}

func (s *Store) withEffective(m tenants.MemorySettings) TeamSettings {
	return TeamSettings{Backend: m.Backend, EmbedModel: m.EmbedModel, Effective: s.sinks.backendOf(m)}
}
