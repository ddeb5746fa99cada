package memory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// StoreOptions tune a Store; zero values take the defaults.
type StoreOptions struct {
	Redactor   *Redactor // nil: the built-in rules only
	MaxContent int       // bytes of text an added event may have; 0: DefaultMaxContent
	Embedder   Embedder  // embeds search queries for teams that name a model; nil: keyword search only
	Metrics    *Metrics
}

// Store is the memory API over Postgres: listing, reading, adding and
// erasing a team's events, searching them through the team's sink, and the
// team's memory settings. Every method is scoped to one team.
type Store struct {
	pool     *pgxpool.Pool
	sinks    *Sinks
	teams    *tenants.Store // keeps the teams' memory settings
	clean    cleaner
	embedder Embedder
	metrics  *Metrics
}

// NewStore serves the events in pool's database; sinks resolve each team's
// search backend and which backends a team may choose, and teams keeps each
// team's choice.
func NewStore(pool *pgxpool.Pool, sinks *Sinks, teams *tenants.Store, opts StoreOptions) (*Store, error) {
	clean, err := newCleaner(opts.Redactor, opts.MaxContent)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, sinks: sinks, teams: teams, clean: clean, embedder: opts.Embedder, metrics: opts.Metrics}, nil
}

// MaxContent is how many bytes of text an added event may have.
func (s *Store) MaxContent() int { return s.clean.limit }

// List returns one page of the filter's events, newest first, and the
// cursor of the next page ("" on the last).
func (s *Store) List(ctx context.Context, f Filter) ([]attach.Event, string, error) {
	f, err := f.normalize()
	if err != nil {
		return nil, "", err
	}
	where, args := f.where(nil)
	rows, err := s.pool.Query(ctx, "SELECT "+eventSelect+" FROM memory_events WHERE "+where+
		" ORDER BY id DESC LIMIT "+strconv.Itoa(f.Limit+1), args...)
	if err != nil {
		return nil, "", tenants.DBError("list events", err)
	}
	list, err := pgx.CollectRows(rows, scanEventRow)
	if err != nil {
		return nil, "", tenants.DBError("list events", err)
	}
	if len(list) <= f.Limit {
		return list, "", nil
	}
	list = list[:f.Limit]
	return list, list[f.Limit-1].ID, nil
}

// Get returns one event of the team.
func (s *Store) Get(ctx context.Context, teamID, id string) (attach.Event, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Event{}, attach.Errorf(attach.CodeNotFound, "get event: not found")
	}
	e, err := scanEvent(s.pool.QueryRow(ctx, "SELECT "+eventSelect+" FROM memory_events WHERE team_id = $1 AND id = $2", teamID, id))
	return e, tenants.DBError("get event", err)
}

// Add stores an event an agent or app wrote itself (a note, a log line, a
// task hand-off) and queues it for the team's sink, and returns it as
// stored, with its new id. TeamID, Kind and Content are required; ID and
// CreatedAt are set here.
func (s *Store) Add(ctx context.Context, e attach.Event) (attach.Event, error) {
	added, err := s.AddMany(ctx, []attach.Event{e})
	if err != nil {
		return attach.Event{}, err
	}
	return added[0], nil
}

// AddMany is Add for several events of one team, in one transaction. An
// event that arrives already cut short says so with Truncated.
func (s *Store) AddMany(ctx context.Context, events []attach.Event) ([]attach.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	teamID := events[0].TeamID
	if !attach.ValidID(teamID) {
		return nil, attach.Errorf(attach.CodeNotFound, "add events: team not found")
	}
	out := make([]attach.Event, len(events))
	now := time.Now().UTC()
	for i, e := range events {
		if e.TeamID != teamID {
			return nil, attach.Invalid("team_id", "all events of one call must belong to one team")
		}
		if !attach.ValidKind(e.Kind) {
			return nil, attach.Invalid("kind", "must be one of prompt, response, task_sent, task_result, log, note")
		}
		if strings.TrimSpace(e.Content) == "" {
			return nil, attach.Invalid("content", "must not be empty")
		}
		if len(e.Content) > s.clean.limit {
			return nil, attach.Invalid("content", fmt.Sprintf("is longer than %d bytes", s.clean.limit))
		}
		var err error
		if e.ID, err = attach.NewID(); err != nil {
			return nil, err
		}
		var cut bool
		e.Content, cut = s.clean.text(e.Content)
		e.Truncated = e.Truncated || cut
		if e.Metadata, err = s.clean.metadata(e.Metadata); err != nil {
			return nil, err
		}
		e.CreatedAt = now
		out[i] = e
	}
	settings, err := s.Settings(ctx, teamID)
	if err != nil {
		return nil, err
	}
	if settings.Effective == BackendNone {
		return nil, disabled()
	}
	queued := s.sinks.Queued(settings.Effective)
	err = tenants.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		return insertEvents(ctx, tx, out, func(string) bool { return queued })
	})
	if err != nil {
		return nil, err
	}
	s.metrics.stored(out)
	return out, nil
}

// Search finds the filter's events matching text through the team's sink,
// best match first. The sink gets the filter normalized (Limit set).
func (s *Store) Search(ctx context.Context, text string, f Filter) ([]attach.Event, error) {
	f, err := f.normalize()
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, attach.Invalid("q", "must not be empty")
	}
	settings, err := s.Settings(ctx, f.TeamID)
	if err != nil {
		return nil, err
	}
	sink, err := s.sinks.resolve(settings.Effective)
	if err != nil {
		// The team chose a backend this install no longer configures.
		return nil, &attach.Error{Code: attach.CodeUnavailable, Message: "search: memory backend unavailable", Err: err}
	}
	list, err := s.searchIn(ctx, sink, settings.EmbedModel, text, f)
	if err != nil {
		if code := attach.ErrorCode(err); code == attach.CodeDisabled || code == attach.CodeInvalid {
			return nil, err
		}
		return nil, &attach.Error{Code: attach.CodeUnavailable, Message: "search " + sink.Name() + ": memory backend unavailable", Err: err}
	}
	return list, nil
}

// searchIn searches by meaning when the team names an embedding model and
// the sink stores vectors, else by keywords.
func (s *Store) searchIn(ctx context.Context, sink Sink, model, text string, f Filter) ([]attach.Event, error) {
	vs, ok := sink.(VectorSink)
	if !ok || s.embedder == nil || model == "" {
		return sink.Search(ctx, text, f)
	}
	vectors, err := s.embedder.Embed(ctx, f.TeamID, model, []string{text})
	if err != nil || len(vectors) != 1 {
		return nil, fmt.Errorf("embed the query with %s: %w", model, err)
	}
	return vs.SearchVector(ctx, vectors[0], f)
}

// EraseUser deletes every event of user in the team and queues the same
// erasure for the sinks, in one transaction, and returns how many events
// Postgres held.
func (s *Store) EraseUser(ctx context.Context, teamID, user string) (int, error) {
	if !attach.ValidID(teamID) {
		return 0, attach.Errorf(attach.CodeNotFound, "erase user: team not found")
	}
	if user == "" {
		return 0, attach.Invalid("user", "must not be empty")
	}
	var deleted int
	err := tenants.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The erasure queue has no key to teams (see migration 00005):
		// lock the team so that it exists until this commits; a delete
		// of the team then waits, and replaces this erasure with its own.
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM teams WHERE id = $1 FOR KEY SHARE", teamID).Scan(&one)
		if err != nil {
			return tenants.DBError("erase user: lock the team", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM memory_events WHERE team_id = $1 AND "user" = $2`, teamID, user)
		if err != nil {
			return tenants.DBError("erase user", err)
		}
		deleted = int(tag.RowsAffected())
		// Asked again while a worker still holds an older erasure: run once
		// more, soon, with a fresh count of attempts.
		_, err = tx.Exec(ctx, `INSERT INTO memory_erasures (team_id, "user") VALUES ($1, $2)
			ON CONFLICT (team_id, "user") DO UPDATE SET attempts = 0, next_attempt_at = now(), last_error = ''`,
			teamID, user)
		return tenants.DBError("queue erasure", err)
	})
	return deleted, err
}

// Pending is how far delivery to a team's sink is behind.
type Pending struct {
	Events        int           `json:"events"`               // events not delivered yet
	Oldest        time.Duration `json:"-"`                    // age of the oldest of them
	OldestSeconds float64       `json:"oldest_seconds"`       // the same, for JSON
	Erasures      int           `json:"erasures"`             // user erasures not done yet
	LastError     string        `json:"last_error,omitempty"` // the sink's most recent failure
	Attempts      int           `json:"attempts"`             // most failed attempts of one waiting event
}

// Pending reports the team's delivery status, for the console.
func (s *Store) Pending(ctx context.Context, teamID string) (Pending, error) {
	if !attach.ValidID(teamID) {
		return Pending{}, attach.Errorf(attach.CodeNotFound, "pending: team not found")
	}
	var p Pending
	var oldest *time.Time
	var lastErr *string
	var now time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT count(*), min(created_at), coalesce(max(attempts), 0),
		       (SELECT last_error FROM memory_outbox WHERE team_id = $1 AND last_error <> ''
		         ORDER BY next_attempt_at DESC LIMIT 1),
		       (SELECT count(*) FROM memory_erasures WHERE team_id = $1),
		       now()
		FROM memory_outbox WHERE team_id = $1`, teamID).Scan(&p.Events, &oldest, &p.Attempts, &lastErr, &p.Erasures, &now)
	if err != nil {
		return Pending{}, tenants.DBError("pending", err)
	}
	if oldest != nil {
		p.Oldest = max(now.Sub(*oldest), 0)
		p.OldestSeconds = p.Oldest.Seconds()
	}
	if lastErr != nil {
		p.LastError = *lastErr
	} else if p.Erasures > 0 {
		err := s.pool.QueryRow(ctx, `SELECT last_error FROM memory_erasures WHERE team_id = $1 AND last_error <> ''
			ORDER BY next_attempt_at DESC LIMIT 1`, teamID).Scan(&p.LastError)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return Pending{}, tenants.DBError("pending erasures", err)
		}
	}
	return p, nil
}
