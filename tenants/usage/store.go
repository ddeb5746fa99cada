package usage

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

// Store reads and writes the ledger's tables.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore is a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// rollupKey is one row of usage_minutes.
type rollupKey struct {
	team, subject, key, engine, model string
	minute                            time.Time
}

type rollup struct {
	requests, prompt, completion, estimated, failed int64
}

// Write adds records to the ledger in one transaction: their raw rows and
// their per-minute sums (added to the sums already there). Records of
// teams that no longer exist are skipped.
func (s *Store) Write(ctx context.Context, records []attach.Usage) error {
	n := len(records)
	teams, ats, subjects, keys, agents := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n)
	engines, models, paths := make([]string, n), make([]string, n), make([]string, n)
	prompt, completion, status, latency := make([]int32, n), make([]int32, n), make([]int16, n), make([]int32, n)
	estimated := make([]bool, n)
	sums := map[rollupKey]*rollup{}
	for i, u := range records {
		teams[i], ats[i], subjects[i], keys[i], agents[i] = u.TeamID, u.Time.UTC(), u.User, u.KeyID, u.Agent
		engines[i], models[i], paths[i] = u.Engine, u.Model, u.Path
		prompt[i], completion[i] = clamp32(u.PromptTokens), clamp32(u.CompletionTokens)
		status[i], latency[i], estimated[i] = int16(min(max(u.Status, 0), 999)), clamp32(int(u.Latency.Milliseconds())), u.Estimated

		k := rollupKey{team: u.TeamID, subject: u.User, key: u.KeyID, engine: u.Engine, model: u.Model,
			minute: u.Time.UTC().Truncate(time.Minute)}
		r := sums[k]
		if r == nil {
			r = &rollup{}
			sums[k] = r
		}
		r.requests++
		r.prompt += int64(u.PromptTokens)
		r.completion += int64(u.CompletionTokens)
		if u.Estimated {
			r.estimated++
		}
		if u.Status < 200 || u.Status >= 300 {
			r.failed++
		}
	}
	m := len(sums)
	rTeams, rMinutes, rSubjects, rKeys, rEngines, rModels := make([]string, 0, m), make([]time.Time, 0, m), make([]string, 0, m), make([]string, 0, m), make([]string, 0, m), make([]string, 0, m)
	rRequests, rPrompt, rCompletion, rEstimated, rFailed := make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m), make([]int64, 0, m)
	for k, r := range sums {
		rTeams, rMinutes, rSubjects, rKeys = append(rTeams, k.team), append(rMinutes, k.minute), append(rSubjects, k.subject), append(rKeys, k.key)
		rEngines, rModels = append(rEngines, k.engine), append(rModels, k.model)
		rRequests, rPrompt, rCompletion = append(rRequests, r.requests), append(rPrompt, r.prompt), append(rCompletion, r.completion)
		rEstimated, rFailed = append(rEstimated, r.estimated), append(rFailed, r.failed)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The batch's teams that still exist, locked against deletion
		// until the batch is in: a record of a team deleted meanwhile is
		// skipped, not a failed batch.
		live, err := liveTeams(ctx, tx, teams)
		if err != nil {
			return err
		}
		// COPY: the raw rows are the bulk of the ledger's writes, and COPY
		// costs Postgres a fraction of an INSERT per row.
		rows := make([][]any, 0, n)
		for i := range records {
			if live[teams[i]] {
				rows = append(rows, []any{teams[i], ats[i], subjects[i], keys[i], agents[i], engines[i], models[i], paths[i],
					prompt[i], completion[i], estimated[i], status[i], latency[i]})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"usage_records"},
			[]string{"team_id", "at", "subject", "key_id", "agent", "engine", "model", "path",
				"prompt_tokens", "completion_tokens", "estimated", "status", "latency_ms"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("write usage records: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO usage_minutes AS u (team_id, minute, subject, key_id, engine, model,
				requests, prompt_tokens, completion_tokens, estimated_requests, failed_requests)
			SELECT t.id, r.minute, r.subject, r.key_id, r.engine, r.model, r.requests, r.prompt, r.completion, r.estimated, r.failed
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
				AS r(team, minute, subject, key_id, engine, model, requests, prompt, completion, estimated, failed)
			JOIN teams t ON t.id::text = r.team
			ON CONFLICT (team_id, minute, subject, key_id, engine, model) DO UPDATE SET
				requests = u.requests + EXCLUDED.requests,
				prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
				completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,
				estimated_requests = u.estimated_requests + EXCLUDED.estimated_requests,
				failed_requests = u.failed_requests + EXCLUDED.failed_requests`,
			rTeams, rMinutes, rSubjects, rKeys, rEngines, rModels, rRequests, rPrompt, rCompletion, rEstimated, rFailed); err != nil {
			return fmt.Errorf("add usage to the minute sums: %w", err)
		}
		return nil
	})
}

// liveTeams is which of ids (team ids, repeated) name teams that exist,
// their rows locked FOR KEY SHARE so that none is deleted before the
// transaction ends.
func liveTeams(ctx context.Context, tx pgx.Tx, ids []string) (map[string]bool, error) {
	distinct := make([]string, 0, 4)
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] && attach.ValidID(id) {
			seen[id] = true
			distinct = append(distinct, id)
		}
	}
	rows, err := tx.Query(ctx, "SELECT id::text FROM teams WHERE id = ANY($1::uuid[]) FOR KEY SHARE", distinct)
	if err != nil {
		return nil, fmt.Errorf("find the usage's teams: %w", err)
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find the usage's teams: %w", err)
	}
	out := make(map[string]bool, len(live))
	for _, id := range live {
		out[id] = true
	}
	return out, nil
}

func clamp32(n int) int32 { return int32(min(max(n, 0), 1<<31-1)) }

// pruneLock is the advisory lock a replica holds while it prunes ("attach-usage"
// folded to 64 bits): one replica at a time does the deleting.
const pruneLock = 0x6174742d75736167

// pruneBatch bounds the rows one delete removes, so pruning never holds a
// long lock on a busy table.
const pruneBatch = 10_000

// Prune deletes raw records older than rawBefore and minute sums older
// than rollupBefore, in batches, and says how many of each went. When
// another replica is pruning it returns at once.
func (s *Store) Prune(ctx context.Context, rawBefore, rollupBefore time.Time) (records, minutes int64, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("prune usage: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(pruneLock)).Scan(&locked); err != nil {
		return 0, 0, fmt.Errorf("prune usage: lock: %w", err)
	}
	if !locked {
		return 0, 0, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(pruneLock))
	del := func(query string, before time.Time) (int64, error) {
		var total int64
		for {
			tag, err := conn.Exec(ctx, query, before, pruneBatch)
			if err != nil {
				return total, err
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < pruneBatch {
				return total, nil
			}
		}
	}
	if records, err = del(`DELETE FROM usage_records WHERE ctid IN
		(SELECT ctid FROM usage_records WHERE at < $1 LIMIT $2)`, rawBefore); err != nil {
		return records, 0, fmt.Errorf("prune usage records: %w", err)
	}
	if minutes, err = del(`DELETE FROM usage_minutes WHERE ctid IN
		(SELECT ctid FROM usage_minutes WHERE minute < $1 LIMIT $2)`, rollupBefore); err != nil {
		return records, minutes, fmt.Errorf("prune usage minute sums: %w", err)
	}
	return records, minutes, nil
}
