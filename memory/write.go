package memory

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
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
// fresh UUIDs. An event of a team that no longer exists fails the whole
// write as not found (the events' foreign key to teams).
func insertEvents(ctx context.Context, tx pgx.Tx, events []attach.Event, queue func(teamID string) bool) error {
	if len(events) == 0 {
		return nil
	}
	rows := newCopyRows(len(eventColumns), eventRowsSize(events))
	defer rows.release()
	var outbox *copyRows
	for i, e := range events {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			return fmt.Errorf("event %d: malformed id", i)
		}
		team, err := uuid.Parse(e.TeamID)
		if err != nil {
			return attach.Errorf(attach.CodeNotFound, "event %d: team not found", i)
		}
		rows.event(id, team, &e)
		if queue(e.TeamID) {
			if outbox == nil {
				outbox = newCopyRows(2, outboxRowSize*len(events))
				defer outbox.release()
			}
			outbox.row()
			outbox.uuid(id)
			outbox.uuid(team)
		}
	}
	conn := tx.Conn().PgConn()
	if _, err := conn.CopyFrom(ctx, bytes.NewReader(rows.end()), copyEvents); err != nil {
		return tenants.DBError("store events", err)
	}
	if outbox != nil {
		if _, err := conn.CopyFrom(ctx, bytes.NewReader(outbox.end()), copyOutbox); err != nil {
			return tenants.DBError("queue events for delivery", err)
		}
	}
	return nil
}

// eventRowsSize is about the size of the COPY rows of events, so that the
// body is allocated once: a field count, a length per column, two UUIDs, a
// boolean, a timestamp and the text (sanitize may change it a little).
func eventRowsSize(events []attach.Event) int {
	const fixed = 2 + 4*13 + 16 + 16 + 1 + 8
	n := 2 // the trailer
	for i := range events {
		e := &events[i]
		n += fixed + len(e.User) + len(e.Session) + len(e.Kind) + len(e.Role) + len(e.Model) +
			len(e.Engine) + len(e.Content) + len(e.TaskID) + len(e.Metadata)
	}
	return n
}

// outboxRowSize is the size of one outbox row: a field count and two UUIDs.
const outboxRowSize = 2 + 2*(4+16)

// event writes e as a row of eventColumns, with its id and team parsed.
func (c *copyRows) event(id, team uuid.UUID, e *attach.Event) {
	// Identity and names come from tokens and clients; Postgres text
	// cannot hold NUL, and one bad byte must not fail a whole batch.
	// Content and metadata are cleaned already.
	c.row()
	c.uuid(id)
	c.uuid(team)
	c.text(sanitize(e.User))
	c.text(sanitize(e.Session))
	c.text(e.Kind)
	c.text(sanitize(e.Role))
	c.text(sanitize(e.Model))
	c.text(sanitize(e.Engine))
	c.text(e.Content)
	c.bool(e.Truncated)
	c.text(sanitize(e.TaskID))
	c.json(e.Metadata)
	c.timestamptz(e.CreatedAt)
}
