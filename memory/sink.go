package memory

import (
	"context"

	attach "github.com/attach-dev/attach-gateway"
)

// Sink is a store that events are delivered to after Postgres has committed
// them. Every method names the team: a sink keeps teams apart (Weaviate by one
// tenant per team).
type Sink interface {
	// Name is the backend name (BackendPostgres, BackendWeaviate, ...).
	Name() string
	// Deliver writes events, all of teamID. Writing an event that is already
	// there (same ID) overwrites it, so a retried batch never duplicates.
	Deliver(ctx context.Context, teamID string, events []attach.Event) error
	// Search finds the team's events matching text (keyword search) within
	// the filter, best match first.
	Search(ctx context.Context, text string, f Filter) ([]attach.Event, error)
	// DeleteUser erases every event of user in the team.
	DeleteUser(ctx context.Context, teamID, user string) error
	// DeleteTeam erases every event of a team that has been deleted.
	DeleteTeam(ctx context.Context, teamID string) error
}
