package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Store keeps every task handed to an agent through the gateway, with each
// state change and message, in Postgres. Task reads are answered from it,
// so they work while the agent is down and after a restart.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store writing through pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// StoredTask is a task row with the task as the agent last described it,
// in A2A 0.3's shape.
type StoredTask struct {
	attach.Task
	Snapshot json.RawMessage
}

// TaskEvent is one entry of a task's story: a state entered, a message
// sent or received, or both.
type TaskEvent struct {
	State   string          `json:"state,omitempty"`
	Message json.RawMessage `json:"message,omitempty"`
	At      time.Time       `json:"at"`
}

// Change is what the gateway learnt about a task from one exchange with
// its agent. Task names it (team, agent, the agent's task id) and says who
// asked; its State, when set, is the state the task is now in.
type Change struct {
	Task attach.Task
	// Snapshot is the whole task (0.3 shape) when the agent sent one.
	Snapshot json.RawMessage
	// Update is a status-update or artifact-update event (0.3 shape).
	Update json.RawMessage
	// Messages are kept in the task's story in order: the caller's input,
	// the agent's answer.
	Messages []json.RawMessage
}

const taskColumns = `id, task_id, team_id, coalesce(agent_id::text, ''), agent_name, context_id, user_sub,
	session_id, coalesce(parent_id::text, ''), state, reason, snapshot, created_at, updated_at`

func scanTask(row pgx.Row) (StoredTask, error) {
	var t StoredTask
	err := row.Scan(&t.ID, &t.TaskID, &t.TeamID, &t.AgentID, &t.AgentName, &t.ContextID, &t.User,
		&t.Session, &t.ParentID, &t.State, &t.Reason, &t.Snapshot, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// Apply records a change: the task's row is created the first time the
// gateway sees it, then its snapshot and state follow what the agent says.
// A state change and each message become events of the task. The row's
// owner (user, session, parent) is the one who created it: a later change
// never moves a task to another caller. moved says the task entered a new
// state (or was created).
func (s *Store) Apply(ctx context.Context, ch Change) (out StoredTask, moved bool, err error) {
	t := ch.Task
	if t.TaskID == "" {
		return StoredTask{}, false, fmt.Errorf("record task: no task id")
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, found, err := s.lockTask(ctx, tx, t)
		if err != nil {
			return err
		}
		created := false
		if !found {
			if cur, err = s.insertTask(ctx, tx, t, ch.Snapshot); err != nil {
				return err
			}
			created = true
		}
		prev := cur.State
		snap, state, err := nextSnapshot(cur.Snapshot, ch.Snapshot, ch.Update)
		if err != nil {
			return fmt.Errorf("record task %s: %w", t.TaskID, err)
		}
		if t.State != "" {
			state = t.State
		}
		if state == "" {
			state = prev
		}
		reason := cur.Reason
		if t.Reason != "" {
			reason = t.Reason
		}
		if ch.Task.ContextID != "" && cur.ContextID == "" {
			cur.ContextID = ch.Task.ContextID
		}
		out, err = scanTask(tx.QueryRow(ctx, `UPDATE tasks SET state = $2, reason = $3, snapshot = $4,
			context_id = $5, updated_at = now() WHERE id = $1 RETURNING `+taskColumns,
			cur.ID, state, reason, snap, cur.ContextID))
		if err != nil {
			return fmt.Errorf("update task: %w", err)
		}
		for _, m := range ch.Messages {
			if err := addEvent(ctx, tx, cur.ID, "", m); err != nil {
				return err
			}
		}
		if created || state != prev {
			moved = true
			return addEvent(ctx, tx, cur.ID, state, statusMessage(snap))
		}
		return nil
	})
	return out, moved, err
}

// lockTask finds and locks the row a change is about: by the gateway's id
// when the change names one (a hand-off the relay opened with Begin, whose
// row still waits for the agent's id), else by the agent's id.
func (s *Store) lockTask(ctx context.Context, tx pgx.Tx, t attach.Task) (StoredTask, bool, error) {
	if t.ID != "" {
		cur, err := scanTask(tx.QueryRow(ctx, "SELECT "+taskColumns+
			" FROM tasks WHERE team_id = $1 AND id = $2 FOR UPDATE", t.TeamID, t.ID))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return StoredTask{}, false, fmt.Errorf("read task: %w", err)
		case cur.TaskID == t.TaskID:
			return cur, true, nil
		case cur.TaskID == cur.ID:
			return s.rekey(ctx, tx, cur, t)
		}
	}
	cur, err := scanTask(tx.QueryRow(ctx, "SELECT "+taskColumns+
		" FROM tasks WHERE team_id = $1 AND agent_name = $2 AND task_id = $3 FOR UPDATE",
		t.TeamID, t.AgentName, t.TaskID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return StoredTask{}, false, nil
	case err != nil:
		return StoredTask{}, false, fmt.Errorf("read task: %w", err)
	}
	return cur, true, nil
}

// rekey gives an opened hand-off the id its agent chose. Should the agent
// name a task the gateway already knows, the hand-off's story joins it.
func (s *Store) rekey(ctx context.Context, tx pgx.Tx, open StoredTask, t attach.Task) (StoredTask, bool, error) {
	var known string
	err := tx.QueryRow(ctx, "SELECT id FROM tasks WHERE team_id = $1 AND agent_name = $2 AND task_id = $3 FOR UPDATE",
		t.TeamID, open.AgentName, t.TaskID).Scan(&known)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		cur, err := scanTask(tx.QueryRow(ctx, `UPDATE tasks SET task_id = $2,
			snapshot = jsonb_set(snapshot, '{id}', to_jsonb($2::text)) WHERE id = $1 RETURNING `+taskColumns, open.ID, t.TaskID))
		if err != nil {
			return StoredTask{}, false, fmt.Errorf("name task: %w", err)
		}
		return cur, true, nil
	case err != nil:
		return StoredTask{}, false, fmt.Errorf("read task: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE task_events SET task = $2 WHERE task = $1", open.ID, known); err != nil {
		return StoredTask{}, false, fmt.Errorf("join task events: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM tasks WHERE id = $1", open.ID); err != nil {
		return StoredTask{}, false, fmt.Errorf("drop opened task: %w", err)
	}
	cur, err := scanTask(tx.QueryRow(ctx, "SELECT "+taskColumns+" FROM tasks WHERE id = $1", known))
	if err != nil {
		return StoredTask{}, false, fmt.Errorf("read task: %w", err)
	}
	return cur, true, nil
}

// Open records a hand-off before its agent answers: the row (keyed by the
// gateway's id until the agent names the task) and the message sent. A
// gateway that dies while the agent works leaves a row the reconciler can
// settle; an agent's call-backs can name it as their parent meanwhile.
func (s *Store) Open(ctx context.Context, t attach.Task, input json.RawMessage) error {
	t.TaskID, t.State = t.ID, attach.TaskSubmitted
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.insertTask(ctx, tx, t, nil)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, row.ID, "", input); err != nil {
			return err
		}
		return addEvent(ctx, tx, row.ID, attach.TaskSubmitted, nil)
	})
}

// Discard removes a hand-off that never became a task (the agent answered
// with a plain message), unless its agent has named it meanwhile.
func (s *Store) Discard(ctx context.Context, teamID, id string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM tasks WHERE team_id = $1 AND id = $2 AND task_id = id::text", teamID, id)
	if err != nil {
		return fmt.Errorf("discard opened task: %w", err)
	}
	return nil
}

func (s *Store) insertTask(ctx context.Context, tx pgx.Tx, t attach.Task, snap json.RawMessage) (StoredTask, error) {
	// The relay names a task before its agent does, so that the agent's
	// call-backs can name it as their parent while it runs.
	id := t.ID
	if id == "" {
		var err error
		if id, err = attach.NewID(); err != nil {
			return StoredTask{}, err
		}
	}
	if t.State == "" {
		t.State = attach.TaskSubmitted
	}
	if len(snap) == 0 {
		snap = emptySnapshot(t)
	}
	var agentID, parentID any
	if t.AgentID != "" {
		agentID = t.AgentID
	}
	if t.ParentID != "" {
		parentID = t.ParentID
	}
	row, err := scanTask(tx.QueryRow(ctx, `INSERT INTO tasks (id, task_id, team_id, agent_id, agent_name, context_id,
		user_sub, session_id, parent_id, state, reason, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING `+taskColumns,
		id, t.TaskID, t.TeamID, agentID, t.AgentName, t.ContextID, t.User, t.Session, parentID, t.State, t.Reason, snap))
	if err != nil {
		return StoredTask{}, tenants.DBError("create task", err)
	}
	// The state is recorded as an event by Apply, after the snapshot is
	// brought up to date; until then the row's state is "nothing yet".
	row.State = ""
	return row, nil
}

func addEvent(ctx context.Context, tx pgx.Tx, taskID, state string, message json.RawMessage) error {
	var m any
	if len(message) > 0 {
		m = message
	}
	if state == "" && m == nil {
		return nil
	}
	_, err := tx.Exec(ctx, "INSERT INTO task_events (task, state, message) VALUES ($1, $2, $3)", taskID, state, m)
	if err != nil {
		return fmt.Errorf("record task event: %w", err)
	}
	return nil
}

// Get finds a task by the agent's id for it. Another team's task, or one
// of another agent, is not found: the caller learns nothing of it.
func (s *Store) Get(ctx context.Context, teamID, agentName, taskID string) (StoredTask, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, "SELECT "+taskColumns+
		" FROM tasks WHERE team_id = $1 AND agent_name = $2 AND task_id = $3", teamID, agentName, taskID))
	return t, tenants.DBError("task", err)
}

// GetByID finds a task by the gateway's id within a team.
func (s *Store) GetByID(ctx context.Context, teamID, id string) (StoredTask, error) {
	if !attach.ValidID(id) {
		return StoredTask{}, attach.NotFound("task")
	}
	t, err := scanTask(s.pool.QueryRow(ctx, "SELECT "+taskColumns+
		" FROM tasks WHERE team_id = $1 AND id = $2", teamID, id))
	return t, tenants.DBError("task", err)
}

// TaskFilter chooses the tasks List returns. Empty fields do not filter.
type TaskFilter struct {
	TeamID    string
	AgentName string
	User      string
	ContextID string
	State     string
	ParentID  string
	// Limit is 1..200 (0 means 50); After is the previous page's cursor.
	Limit int
	After string
}

// List returns the newest tasks first, one page at a time.
func (s *Store) List(ctx context.Context, f TaskFilter) ([]StoredTask, string, error) {
	switch {
	case f.Limit == 0:
		f.Limit = 50
	case f.Limit < 0 || f.Limit > 200:
		return nil, "", attach.Invalid("limit", "must be from 1 to 200")
	}
	if f.After != "" && !attach.ValidID(f.After) {
		return nil, "", attach.Invalid("after", "is not a cursor from a previous page")
	}
	var parent any
	if f.ParentID != "" {
		if !attach.ValidID(f.ParentID) {
			return nil, "", nil
		}
		parent = f.ParentID
	}
	var after any
	if f.After != "" {
		after = f.After
	}
	// Ids are UUIDv7: newest first is id descending.
	rows, err := s.pool.Query(ctx, "SELECT "+taskColumns+` FROM tasks WHERE team_id = $1
		AND ($2 = '' OR agent_name = $2) AND ($3 = '' OR user_sub = $3) AND ($4 = '' OR context_id = $4)
		AND ($5 = '' OR state = $5) AND ($6::uuid IS NULL OR parent_id = $6)
		AND ($7::uuid IS NULL OR id < $7) ORDER BY id DESC LIMIT $8`,
		f.TeamID, f.AgentName, f.User, f.ContextID, f.State, parent, after, f.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredTask, error) { return scanTask(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	if len(tasks) <= f.Limit {
		return tasks, "", nil
	}
	tasks = tasks[:f.Limit]
	return tasks, tasks[f.Limit-1].ID, nil
}

// Events returns a task's story in order.
func (s *Store) Events(ctx context.Context, id string) ([]TaskEvent, error) {
	rows, err := s.pool.Query(ctx, "SELECT state, message, at FROM task_events WHERE task = $1 ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("read task events: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskEvent, error) {
		var e TaskEvent
		err := r.Scan(&e.State, &e.Message, &e.At)
		return e, err
	})
}
