package a2a

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	attach "github.com/attach-dev/attach-gateway"
)

// The seed's task states, as GET /a2a/tasks/status names them.
const (
	SeedQueued     = "queued"
	SeedInProgress = "in_progress"
	SeedDone       = "done"
	SeedError      = "error"
)

// seedQueue is the River queue seed tasks run on.
const seedQueue = "attach_seed"

// Engines runs a request on one of a team's engine routes for caller,
// as the gateway's proxy does for a client: engine chosen by model,
// identity stamped, the exchange mirrored into memory. An engine that
// cannot be reached is a status (502, 504), as a client would get it.
type Engines interface {
	CallEngine(ctx context.Context, caller Caller, route string, body []byte) (status int, answer []byte, err error)
}

// Agents finds one of a team's agents by the team's id.
type Agents interface {
	TeamAgent(teamID, name string) (attach.Agent, bool)
}

// SeedConfig is what the seed's task queue needs.
type SeedConfig struct {
	Pool    *pgxpool.Pool
	Relay   *Relay
	Engines Engines
	Agents  Agents
	Logger  *slog.Logger

	// Workers is how many tasks this process runs at once (default 10).
	Workers int
	// MaxAttempts bounds the tries of one task (default 5).
	MaxAttempts int
	// RetryBase is the wait after the first failed try; it doubles with
	// each try, up to RetryMax (defaults 1 s and 5 min).
	RetryBase, RetryMax time.Duration
	// JobTimeout bounds one try (default 10 min). A try still marked
	// running RescueAfter after it started (its process died) is tried
	// again (default JobTimeout + 5 min).
	JobTimeout, RescueAfter time.Duration
	// PollInterval is how often the queue is read when no notification
	// says a task was added (default 1 s).
	PollInterval time.Duration
	// PollEvery bounds the wait between two reads of an agent's running
	// task (default 5 s).
	PollEvery time.Duration
}

// Seed runs the seed's routes: tasks sent to a team's engine or agent,
// queued durably in Postgres (River) and worked by any replica.
type Seed struct {
	cfg    SeedConfig
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	log    *slog.Logger
}

// NewSeed prepares the queue; Start begins working it. The queue's tables
// must exist (migrations.Up applies them).
func NewSeed(cfg SeedConfig) (*Seed, error) {
	cfg.Workers = cmp.Or(cfg.Workers, 10)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 5)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, time.Second)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, 5*time.Minute)
	cfg.JobTimeout = cmp.Or(cfg.JobTimeout, 10*time.Minute)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, cfg.JobTimeout+5*time.Minute)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Seed{cfg: cfg, pool: cfg.Pool, log: cfg.Logger}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &seedWorker{seed: s}); err != nil {
		return nil, fmt.Errorf("seed queue: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Queues:               map[string]river.QueueConfig{seedQueue: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          &seedRetry{base: cfg.RetryBase, most: cfg.RetryMax},
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		Logger:               cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("seed queue: %w", err)
	}
	s.client = client
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start works the queue until Stop. ctx only bounds the start.
func (s *Seed) Start(ctx context.Context) error {
	// River stops when the context given to Start ends: the client lives
	// until Stop, not until the caller's context does.
	if err := s.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start seed queue: %w", err)
	}
	return nil
}

// Stop lets the tasks in hand finish for up to grace, then cancels them:
// a canceled task goes back to the queue, for this replica or another.
func (s *Seed) Stop(ctx context.Context, grace time.Duration) {
	soft, cancel := context.WithTimeout(ctx, grace)
	err := s.client.Stop(soft)
	cancel()
	if err == nil {
		return
	}
	if err := s.client.StopAndCancel(ctx); err != nil {
		s.log.Warn("seed queue: stop", "err", err)
	}
}

// SeedArgs is one seed task's job: who sent it, to what, with what.
type SeedArgs struct {
	TaskID    string `json:"task_id"`
	TeamID    string `json:"team_id"`
	TeamSlug  string `json:"team_slug"`
	User      string `json:"user"`
	Session   string `json:"session"`
	RequestID string `json:"request_id,omitempty"`
	// ParentTask and Depth are the calling agent's, when an agent sends
	// the task with its delegation token.
	ParentTask string          `json:"parent_task,omitempty"`
	Depth      int             `json:"depth,omitempty"`
	Target     SeedTarget      `json:"target"`
	Input      json.RawMessage `json:"input"`
}

// Kind names the job for River.
func (SeedArgs) Kind() string { return "attach_seed_task" }

// InsertOpts puts the job on the seed's queue.
func (SeedArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: seedQueue} }

func (a SeedArgs) caller() Caller {
	return Caller{TeamID: a.TeamID, TeamSlug: a.TeamSlug, User: a.User, Session: a.Session, RequestID: a.RequestID,
		ParentTask: a.ParentTask, Depth: a.Depth}
}

// SeedRequest is a task to queue.
type SeedRequest struct {
	Caller Caller
	Target SeedTarget
	Input  json.RawMessage
}

// Send checks the input against the target and queues the task. The
// task's row and its job are written in one transaction: either both
// exist or neither.
func (s *Seed) Send(ctx context.Context, req SeedRequest) (string, error) {
	switch req.Target.Kind {
	case TargetEngine:
		if _, err := EngineBody(req.Target.Name, req.Input); err != nil {
			return "", err
		}
	case TargetAgent:
		if _, err := AgentMessage(req.Input); err != nil {
			return "", err
		}
	default:
		return "", attach.Invalid("target_url", "names nothing a task can be sent to")
	}
	id, err := attach.NewID()
	if err != nil {
		return "", err
	}
	c := req.Caller
	args := SeedArgs{TaskID: id, TeamID: c.TeamID, TeamSlug: c.TeamSlug, User: c.User, Session: c.Session,
		RequestID: c.RequestID, ParentTask: c.ParentTask, Depth: c.Depth, Target: req.Target, Input: req.Input}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		job, err := s.client.InsertTx(ctx, tx, args, nil)
		if err != nil {
			return fmt.Errorf("queue seed task: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO seed_tasks (id, team_id, user_sub, session_id, job_id, target_kind, target, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, c.TeamID, c.User, c.Session, job.Job.ID, req.Target.Kind, req.Target.Name, SeedQueued)
		if err != nil {
			return fmt.Errorf("record seed task: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// SeedStatus is what GET /a2a/tasks/status answers.
type SeedStatus struct {
	State  string          `json:"state"`
	Result json.RawMessage `json:"result"`
	Reason string          `json:"reason,omitempty"`
	// Attempts is how many tries the task took so far.
	Attempts int `json:"attempts"`
}

// Status reads a task of the caller's: another team's or another user's,
// like an unknown id, is not found.
func (s *Seed) Status(ctx context.Context, teamID, user, id string) (SeedStatus, error) {
	if _, err := uuid.Parse(id); err != nil {
		return SeedStatus{}, attach.NotFound("task")
	}
	var st SeedStatus
	var jobID int64
	err := s.pool.QueryRow(ctx, `SELECT state, result, reason, job_id FROM seed_tasks
		WHERE id = $1 AND team_id = $2 AND user_sub = $3`, id, teamID, user).Scan(&st.State, &st.Result, &st.Reason, &jobID)
	if errors.Is(err, pgx.ErrNoRows) {
		return SeedStatus{}, attach.NotFound("task")
	}
	if err != nil {
		return SeedStatus{}, fmt.Errorf("read seed task: %w", err)
	}
	job, err := s.client.JobGet(ctx, jobID)
	switch {
	case errors.Is(err, river.ErrNotFound):
		// River's cleaner removed a finished job: the row says it all.
		return st, nil
	case err != nil:
		return SeedStatus{}, fmt.Errorf("read seed job: %w", err)
	}
	st.Attempts = job.Attempt
	if st.State == SeedDone || st.State == SeedError {
		return st, nil
	}
	// The job may have ended without its worker saying so: out of tries
	// when its process died, or canceled.
	switch job.State {
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		st.State, st.Reason = SeedError, "the task was given up"
		if n := len(job.Errors); n > 0 {
			st.Reason += ": " + job.Errors[n-1].Error
		}
	case rivertype.JobStateRunning:
		st.State = SeedInProgress
	}
	return st, nil
}
