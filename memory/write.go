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
//
// Events of a team that no longer exists are not stored; gone counts them.
func insertEvents(ctx context.Context, tx pgx.Tx, events []Event, queue func(teamID string) bool) (gone int, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	live, err := lockTeams(ctx, tx, events)
	if err != nil {
		return 0, err
	}
	rows := make([][]any, 0, len(events))
	outbox := make([][]any, 0, len(events))
	for i, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return 0, fmt.Errorf("event %d: malformed id", i)
		}
		team, err := uuid.Parse(e.TeamID)
		if err != nil || !live[team] {
			gone++
			continue
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
		rows = append(rows, []any{pgtype.UUID{Bytes: id, Valid: true}, pgtype.UUID{Bytes: team, Valid: true}, sanitize(e.User), sanitize(e.Session), e.Kind, sanitize(e.Role),
			sanitize(e.Model), sanitize(e.Engine), e.Content, e.Truncated, sanitize(e.TaskID), meta, e.CreatedAt})
		if queue(e.TeamID) {
			outbox = append(outbox, []any{pgtype.UUID{Bytes: id, Valid: true}, pgtype.UUID{Bytes: team, Valid: true}})
		}
	}
	if len(rows) == 0 {
		return gone, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memory_events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
		return 0, dbErr("store events", err)
	}
	if len(outbox) == 0 {
		return gone, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memory_outbox"}, []string{"event_id", "team_id"}, pgx.CopyFromRows(outbox)); err != nil {
		return 0, dbErr("queue events for delivery", err)
	}
	return gone, nil
}

// lockTeams takes a key-share lock on the teams of events and returns those
// that exist. It stands in for a foreign key, once per batch instead of once
// per row: a team cannot be deleted until tx ends, and a team deleted
// before it began is not found, so no event outlives its team (deleting a
// team deletes its events, see migration 00004).
func lockTeams(ctx context.Context, tx pgx.Tx, events []Event) (map[uuid.UUID]bool, error) {
	var ids []string
	seen := make(map[string]bool, 1)
	for _, e := range events {
		if !seen[e.TeamID] && validID(e.TeamID) {
			seen[e.TeamID] = true
			ids = append(ids, e.TeamID)
		}
	}
	live := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return live, nil
	}
	rows, err := tx.Query(ctx, "SELECT id FROM teams WHERE id = ANY($1::uuid[]) FOR KEY SHARE", ids)
	if err != nil {
		return nil, dbErr("lock the events' teams", err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, dbErr("lock the events' teams", err)
		}
		live[id] = true
	}
	return live, dbErr("lock the events' teams", rows.Err())
}
