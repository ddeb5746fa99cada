package memory

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var eventColumns = []string{"id", "team_id", "user", "session", "kind", "role", "model", "engine",
	"content", "truncated", "task_id", "metadata", "created_at"}

// insertEvents stores events and queues each for delivery to its team's
// sink, in tx: an event is in the outbox exactly when it is stored and
// queue says its team's sink needs delivering to (see Sinks.Queued: on the
// default install the events table is the sink, and skipping the queue
// halves the writes). The events' text must be cleaned already; ids must be
// fresh UUIDs.
func insertEvents(ctx context.Context, tx pgx.Tx, events []Event, queue func(teamID string) bool) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	outbox := make([][]any, 0, len(events))
	for i, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return fmt.Errorf("event %d: malformed id", i)
		}
		team, err := uuid.Parse(e.TeamID)
		if err != nil {
			return fmt.Errorf("event %d: team %w", i, ErrNotFound)
		}
		// Types pgx encodes directly: a uuid.UUID or a string for jsonb
		// would go through driver.Valuer and a failed plan first, which
		// was a third of the recorder's CPU.
		var meta []byte
		if len(e.Metadata) > 0 {
			meta = e.Metadata
		}
		// Identity and names come from tokens and clients; Postgres text
		// cannot hold NUL, and one bad byte must not fail a whole batch.
		rows[i] = []any{pgtype.UUID{Bytes: id, Valid: true}, pgtype.UUID{Bytes: team, Valid: true}, sanitize(e.User), sanitize(e.Session), e.Kind, sanitize(e.Role),
			sanitize(e.Model), sanitize(e.Engine), e.Content, e.Truncated, sanitize(e.TaskID), meta, e.CreatedAt}
		if queue(e.TeamID) {
			outbox = append(outbox, []any{pgtype.UUID{Bytes: id, Valid: true}, pgtype.UUID{Bytes: team, Valid: true}})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memory_events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
		return dbErr("store events", err)
	}
	if len(outbox) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memory_outbox"}, []string{"event_id", "team_id"}, pgx.CopyFromRows(outbox)); err != nil {
		return dbErr("queue events for delivery", err)
	}
	return nil
}
