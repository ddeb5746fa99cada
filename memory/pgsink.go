package memory

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// PostgresSink is the default backend. Every event is in memory_events
// before it is delivered anywhere, so delivery has nothing left to do, and
// search is Postgres full-text search over the same table.
type PostgresSink struct {
	pool *pgxpool.Pool
}

// NewPostgresSink searches the events in pool's database.
func NewPostgresSink(pool *pgxpool.Pool) *PostgresSink { return &PostgresSink{pool: pool} }

// Name is BackendPostgres.
func (*PostgresSink) Name() string { return BackendPostgres }

// Deliver has nothing to do: the events are stored already.
func (*PostgresSink) Deliver(context.Context, string, []attach.Event) error { return nil }

// DeleteUser has nothing to do: Store.EraseUser deletes the user's rows in
// the transaction that queues the erasure. Deleting again here, later,
// would also take events the user made after asking.
func (*PostgresSink) DeleteUser(context.Context, string, string) error { return nil }

// DeleteTeam has nothing to do: deleting the team deleted its rows (see
// migration 00004).
func (*PostgresSink) DeleteTeam(context.Context, string) error { return nil }

// Search ranks the filter's events by how well their words match text, in
// the syntax of a web search box ("quoted phrase", or, -not).
func (s *PostgresSink) Search(ctx context.Context, text string, f Filter) ([]attach.Event, error) {
	f, err := f.normalize()
	if err != nil {
		return nil, err
	}
	args := []any{text}
	where, args := f.where(args)
	rows, err := s.pool.Query(ctx, "SELECT "+eventSelect+`
		FROM memory_events, websearch_to_tsquery('simple', $1) AS q
		WHERE `+where+` AND content_tsv @@ q
		ORDER BY ts_rank(content_tsv, q) DESC, id DESC
		LIMIT `+strconv.Itoa(f.Limit), args...)
	if err != nil {
		return nil, tenants.DBError("search events", err)
	}
	list, err := pgx.CollectRows(rows, scanEventRow)
	return list, tenants.DBError("search events", err)
}

const eventSelect = `id, team_id, "user", session, kind, role, model, engine, content, truncated, task_id, metadata, created_at`

func scanEvent(row pgx.Row) (attach.Event, error) {
	var e attach.Event
	var meta []byte
	err := row.Scan(&e.ID, &e.TeamID, &e.User, &e.Session, &e.Kind, &e.Role, &e.Model, &e.Engine,
		&e.Content, &e.Truncated, &e.TaskID, &meta, &e.CreatedAt)
	if len(meta) > 0 {
		e.Metadata = meta
	}
	return e, err
}

func scanEventRow(r pgx.CollectableRow) (attach.Event, error) { return scanEvent(r) }

// Page sizes of listings and searches.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// normalize checks a filter and fills in its default limit.
func (f Filter) normalize() (Filter, error) {
	switch {
	case !attach.ValidID(f.TeamID):
		return f, attach.Invalid("team", "is not a team id")
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		return f, attach.Invalid("limit", "must be from 1 to 200")
	}
	if f.Kind != "" && !attach.ValidKind(f.Kind) {
		return f, attach.Invalid("kind", "must be one of prompt, response, task_sent, task_result, log, note")
	}
	if f.Before != "" && !attach.ValidID(f.Before) {
		return f, attach.Invalid("before", "is not a cursor from a previous page")
	}
	return f, nil
}

// where renders the filter as SQL conditions, appending its values to args.
func (f Filter) where(args []any) (string, []any) {
	var b strings.Builder
	cond := func(sql string, v any) {
		args = append(args, v)
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(sql)
		b.WriteString(strconv.Itoa(len(args)))
	}
	cond("team_id = $", f.TeamID)
	if f.Session != "" {
		cond("session = $", f.Session)
	}
	if f.User != "" {
		cond(`"user" = $`, f.User)
	}
	if f.Kind != "" {
		cond("kind = $", f.Kind)
	}
	if f.TaskID != "" {
		// Spelled out so a generic plan can use the partial task index.
		b.WriteString(" AND task_id <> ''")
		cond("task_id = $", f.TaskID)
	}
	if f.Before != "" {
		cond("id < $", f.Before)
	}
	return b.String(), args
}
