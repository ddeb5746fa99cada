package memory

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

var eventColumns = []string{"id", "team_id", `"user"`, "session", "kind", "role", "model", "engine",
	"content", "truncated", "task_id", "metadata", "created_at"}

var (
	copyEvents = "COPY memory_events (" + strings.Join(eventColumns, ", ") + ") FROM STDIN (FORMAT binary)"
	copyOutbox = "COPY memory_outbox (event_id, team_id) FROM STDIN (FORMAT binary)"
)

// insertEvents stores events and queues each for delivery to its team's
// sink, in tx: an event is in the outbox exactly when it is stored and
// queue says its team's sink needs delivering to (see Sinks.Queued: on the
// default install the events table is the sink, and skipping the queue
// halves the writes). The events' text must be cleaned already; ids must be
// fresh UUIDs.
//
// Events of a team that no longer exists are not stored: kept is the events
// that are, events itself when that is all of them.
func insertEvents(ctx context.Context, tx pgx.Tx, events []Event, queue func(teamID string) bool) (kept []Event, err error) {
	if len(events) == 0 {
		return events, nil
	}
	live, err := lockTeams(ctx, tx, events)
	if err != nil {
		return nil, err
	}
	gone := 0
	rows := newCopyRows(len(eventColumns), 200*len(events))
	var outbox *copyRows
	for i, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return nil, fmt.Errorf("event %d: malformed id", i)
		}
		team, err := uuid.Parse(e.TeamID)
		if err != nil || !live[team] {
			gone++
			continue
		}
		// Identity and names come from tokens and clients; Postgres text
		// cannot hold NUL, and one bad byte must not fail a whole batch.
		// Content and metadata are cleaned already.
		rows.row()
		rows.uuid(id)
		rows.uuid(team)
		rows.text(sanitize(e.User))
		rows.text(sanitize(e.Session))
		rows.text(e.Kind)
		rows.text(sanitize(e.Role))
		rows.text(sanitize(e.Model))
		rows.text(sanitize(e.Engine))
		rows.text(e.Content)
		rows.bool(e.Truncated)
		rows.text(sanitize(e.TaskID))
		rows.json(e.Metadata)
		rows.timestamptz(e.CreatedAt)
		if queue(e.TeamID) {
			if outbox == nil {
				outbox = newCopyRows(2, 40*len(events))
			}
			outbox.row()
			outbox.uuid(id)
			outbox.uuid(team)
		}
	}
	kept = events
	if gone > 0 {
		kept = make([]Event, 0, len(events)-gone)
		for _, e := range events {
			if team, err := uuid.Parse(e.TeamID); err == nil && live[team] {
				kept = append(kept, e)
			}
		}
	}
	if len(kept) == 0 {
		return kept, nil
	}
	conn := tx.Conn().PgConn()
	if _, err := conn.CopyFrom(ctx, bytes.NewReader(rows.end()), copyEvents); err != nil {
		return nil, dbErr("store events", err)
	}
	if outbox != nil {
		if _, err := conn.CopyFrom(ctx, bytes.NewReader(outbox.end()), copyOutbox); err != nil {
			return nil, dbErr("queue events for delivery", err)
		}
	}
	return kept, nil
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
