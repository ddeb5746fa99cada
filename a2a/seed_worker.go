package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// seedWorker works one seed task: it sends the input to the target and
// records how that ended. An engine or agent out of reach, or answering
// 5xx, is tried again later (River's retries, backoff seedRetry); a 4xx
// or a failed agent task ends the task as an error with the reason.
type seedWorker struct {
	river.WorkerDefaults[SeedArgs]
	seed *Seed
}

func (w *seedWorker) Work(ctx context.Context, job *river.Job[SeedArgs]) error {
	s, a := w.seed, job.Args
	var agentTask string
	err := s.pool.QueryRow(ctx, `UPDATE seed_tasks SET state = $2, updated_at = now()
		WHERE id = $1 AND state IN ('queued', 'in_progress') RETURNING agent_task`, a.TaskID, SeedInProgress).Scan(&agentTask)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // finished by an earlier try, or removed with its team
	}
	if err != nil {
		return fmt.Errorf("start seed task: %w", err)
	}
	final := job.Attempt >= job.MaxAttempts
	var result json.RawMessage
	var reason string
	switch a.Target.Kind {
	case TargetEngine:
		result, reason, err = w.engine(ctx, a)
	case TargetAgent:
		result, reason, err = w.agent(ctx, a, agentTask, final)
	default:
		reason = "unknown target " + a.Target.Kind
	}
	if err != nil {
		if !final || ctx.Err() != nil {
			// Tried again, here or on another replica; a try cut short by
			// a shutdown or the job's timeout counts as one.
			return err
		}
		reason = err.Error()
	}
	return w.finish(ctx, job, result, reason)
}

// finish records the task's end: done with its result, or error with the
// reason. A done task and its job's completion are one transaction.
func (w *seedWorker) finish(ctx context.Context, job *river.Job[SeedArgs], result json.RawMessage, reason string) error {
	ctx = context.WithoutCancel(ctx) // the work is done: record it even if time ran out
	state := SeedDone
	if reason != "" {
		state = SeedError
	}
	err := pgx.BeginFunc(ctx, w.seed.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE seed_tasks SET state = $2, result = $3, reason = $4, updated_at = now() WHERE id = $1`,
			job.Args.TaskID, state, nullJSON(result), reason); err != nil {
			return fmt.Errorf("finish seed task: %w", err)
		}
		if state == SeedDone {
			if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
				return fmt.Errorf("complete seed job: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if state == SeedError {
		// Canceled, not failed: River must not try again.
		return river.JobCancel(errors.New(reason))
	}
	return nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// engine calls the team's engine route. err is for what is worth another
// try; reason ends the task.
func (w *seedWorker) engine(ctx context.Context, a SeedArgs) (json.RawMessage, string, error) {
	body, err := EngineBody(a.Target.Name, a.Input)
	if err != nil {
		return nil, err.Error(), nil
	}
	status, answer, err := w.seed.cfg.Engines.CallEngine(ctx, a.caller(), a.Target.Name, body)
	if err != nil {
		return nil, "", fmt.Errorf("call engine: %w", err)
	}
	switch {
	case status >= 500 || status == 429 || status == 408:
		return nil, "", fmt.Errorf("the engine answered HTTP %d: %s", status, answerError(answer))
	case status >= 400:
		return asJSON(answer), fmt.Sprintf("the engine answered HTTP %d: %s", status, answerError(answer)), nil
	}
	return asJSON(answer), "", nil
}

// agent hands the input to the team's agent and follows its task; a try
// after a restart follows the task an earlier try started.
func (w *seedWorker) agent(ctx context.Context, a SeedArgs, resume string, final bool) (json.RawMessage, string, error) {
	s := w.seed
	ag, ok := s.cfg.Agents.TeamAgent(a.TeamID, a.Target.Name)
	if !ok {
		return nil, "the team has no agent named " + a.Target.Name + " any more", nil
	}
	msg, err := AgentMessage(a.Input)
	if err != nil {
		return nil, err.Error(), nil
	}
	d, err := s.cfg.Relay.Deliver(ctx, ag, a.caller(), msg, DeliverOptions{
		Resume: resume, Final: final, PollEvery: s.cfg.PollEvery,
		Started: func(taskID string) {
			if _, err := s.pool.Exec(context.WithoutCancel(ctx), `UPDATE seed_tasks SET agent_task = $2 WHERE id = $1`, a.TaskID, taskID); err != nil {
				s.log.Warn("seed task: agent task not recorded", "task", a.TaskID, "err", err)
			}
		},
	})
	if err != nil {
		return nil, "", err
	}
	if !d.Completed() {
		reason := d.Reason
		if reason == "" {
			reason = "the agent's task ended " + d.State
		}
		return d.Result, reason, nil
	}
	return d.Result, "", nil
}

// asJSON keeps an answer as JSON: as it is when it is JSON, else as a
// string.
func asJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// answerError is what an error answer says: the gateway's and OpenAI's
// {"error":{"message"}}, Ollama's {"error":"..."}, or the start of the body.
func answerError(b []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &m) == nil && m.Message != "" {
			return m.Message
		}
	}
	const most = 200
	if len(b) > most {
		return string(b[:most]) + "..."
	}
	return string(b)
}

// seedRetry waits base after the first failed try, doubling with each
// further try up to most, with ±10% jitter so that tasks failed together
// (an engine restarting) do not all come back at once.
type seedRetry struct{ base, most time.Duration }

func (p *seedRetry) NextRetry(job *rivertype.JobRow) time.Time {
	d := p.base
	for i := 1; i < job.Attempt && d < p.most; i++ {
		d *= 2
	}
	d = min(d, p.most)
	d += time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return time.Now().Add(d)
}
