package a2a

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Teams finds a team's agent for the reconciler, which works outside any
// request.
type Teams interface {
	TeamAgent(teamID, agentName string) (teamSlug string, agent attach.Agent, ok bool)
}

// How the reconciler settles tasks nobody is following.
const (
	// reconcileAfter is how long a running task goes unasked before a
	// replica asks its agent.
	reconcileAfter = 30 * time.Second
	// agentSilence is how long an agent may stay unreachable about a task
	// before the task is failed.
	agentSilence = 10 * time.Minute
)

// Claim takes up to limit running tasks nobody asked about for `after`,
// marking them asked now, so that replicas share the work instead of
// repeating it.
func (s *Store) Claim(ctx context.Context, after time.Duration, limit int) ([]StoredTask, error) {
	rows, err := s.pool.Query(ctx, `UPDATE tasks SET checked_at = now() WHERE id IN (
		SELECT id FROM tasks WHERE state NOT IN ('completed', 'canceled', 'failed', 'rejected')
		AND checked_at < now() - make_interval(secs => $1) ORDER BY checked_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+taskColumns, after.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim running tasks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredTask, error) { return scanTask(r) })
}

// Reconcile settles the running tasks no client is following: a stream
// whose gateway died, a non-blocking send nobody asked about again, a
// hand-off whose gateway stopped before the agent answered. Each is asked
// of its agent and recorded; one its agent no longer knows, or whose agent
// stays unreachable, is failed with the reason. It returns how many tasks
// it looked at.
func (r *Relay) Reconcile(ctx context.Context, teams Teams) (int, error) {
	tasks, err := r.cfg.Store.Claim(ctx, reconcileAfter, 50)
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		r.settle(ctx, teams, t)
	}
	return len(tasks), nil
}

func (r *Relay) settle(ctx context.Context, teams Teams, t StoredTask) {
	fail := func(reason string) {
		ch := Change{Task: t.Task, Update: failedUpdate(t.TaskID, t.ContextID, reason)}
		ch.Task.State, ch.Task.Reason = attach.TaskFailed, reason
		if _, _, err := r.cfg.Store.Apply(ctx, ch); err != nil {
			r.log.Error("a2a: task not settled", "task", t.ID, "err", err)
		}
	}
	if t.TaskID == t.ID {
		// Opened, never named by its agent: the gateway that waited for
		// the answer is gone, unless it is still within its wait.
		if time.Since(t.UpdatedAt) > r.cfg.CallTimeout+time.Minute {
			fail("the gateway stopped before the agent answered")
		}
		return
	}
	slug, agent, ok := teams.TeamAgent(t.TeamID, t.AgentName)
	if !ok {
		fail("the agent was removed from the team")
		return
	}
	params, _ := json.Marshal(map[string]string{"id": t.TaskID})
	call := Call{
		Agent: agent, Version: "0.3", Method: MethodGetTask,
		Request: Request{JSONRPC: "2.0", ID: json.RawMessage(`"reconcile"`), Method: "tasks/get", Params: params},
		Caller:  Caller{TeamID: t.TeamID, TeamSlug: slug, User: t.User, Session: t.Session, ParentTask: t.ParentID},
		handoff: t.ID,
	}
	_, perr := r.relayTaskCall(ctx, call, MethodGetTask, t.TaskID)
	switch {
	case perr == nil:
	case perr.Code == CodeTaskNotFound:
		fail("the agent no longer knows this task")
	case time.Since(t.UpdatedAt) > agentSilence:
		fail(fmt.Sprintf("the agent has not answered about this task since %s", t.UpdatedAt.UTC().Format(time.RFC3339)))
	}
}

// RunReconciler reconciles every interval until ctx ends.
func (r *Relay) RunReconciler(ctx context.Context, teams Teams, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			n, err := r.Reconcile(ctx, teams)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("a2a: reconcile running tasks", "err", err)
			}
			if n < 50 || ctx.Err() != nil {
				break
			}
		}
	}
}
