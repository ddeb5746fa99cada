package a2a

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// treeDepth bounds the walk up to a task's root and down to its last
// descendant. Delegation depth is bounded far below it; the bound only
// keeps a corrupt parent chain (a cycle) from looping.
const treeDepth = 64

// treeSize bounds how many tasks one tree returns, so a runaway fan-out
// cannot make one page read the whole table.
const treeSize = 500

// Tree returns the hand-off that task id (the gateway's id) belongs to:
// its root, found by walking up the parents, then every descendant of the
// root, each level in the order the tasks were made. Every task is of
// teamID: another team's task is not found, and a parent in another team
// ends the walk up. A parent that has no row (named while it ran, never
// recorded) leaves the highest recorded task as the root.
func (s *Store) Tree(ctx context.Context, teamID, id string) ([]StoredTask, error) {
	if !attach.ValidID(id) {
		return nil, attach.NotFound("task")
	}
	var rootID string
	err := s.pool.QueryRow(ctx, `WITH RECURSIVE up (id, parent_id, depth) AS (
			SELECT id, parent_id, 0 FROM tasks WHERE team_id = $1 AND id = $2
			UNION ALL
			SELECT t.id, t.parent_id, up.depth + 1 FROM tasks t JOIN up ON t.id = up.parent_id
			WHERE t.team_id = $1 AND up.depth < $3
		) SELECT id::text FROM up ORDER BY depth DESC LIMIT 1`, teamID, id, treeDepth).Scan(&rootID)
	if err != nil {
		return nil, tenants.DBError("task", err)
	}
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE down (id, depth) AS (
			SELECT id, 0 FROM tasks WHERE team_id = $1 AND id = $2
			UNION ALL
			SELECT t.id, down.depth + 1 FROM tasks t JOIN down ON t.parent_id = down.id
			WHERE t.team_id = $1 AND down.depth < $3
		) SELECT `+taskColumns+` FROM tasks WHERE id IN (SELECT id FROM down)
		ORDER BY id LIMIT $4`, teamID, rootID, treeDepth, treeSize)
	if err != nil {
		return nil, fmt.Errorf("read task tree: %w", err)
	}
	tree, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredTask, error) { return scanTask(r) })
	if err != nil {
		return nil, fmt.Errorf("read task tree: %w", err)
	}
	return tree, nil
}
