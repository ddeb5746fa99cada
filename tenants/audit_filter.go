package tenants

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// AuditFilter narrows an audit log listing. Zero fields do not filter.
type AuditFilter struct {
	// Actor matches the actor's name (an email, a key, "admin token")
	// anywhere in it, ignoring case.
	Actor string
	// Action is an action ("member.role") or, ending in ".", every action
	// of a kind ("member.").
	Action string
	// From and To bound the time: From included, To excluded.
	From, To time.Time
}

// maxAuditFilterText bounds what a filter may hold (it comes from a query
// string).
const maxAuditFilterText = 200

// Check refuses a filter the listing cannot use.
func (f AuditFilter) Check() error {
	switch {
	case len(f.Actor) > maxAuditFilterText:
		return attach.Invalid("actor", fmt.Sprintf("must be at most %d characters", maxAuditFilterText))
	case len(f.Action) > maxAuditFilterText:
		return attach.Invalid("action", fmt.Sprintf("must be at most %d characters", maxAuditFilterText))
	case !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From):
		return attach.Invalid("to", "must be after from")
	}
	return nil
}

// ListAuditFiltered is ListAudit narrowed by f: the entries of teamID ("" for
// the install-wide events) that match, newest first, one page at a time.
func (s *Store) ListAuditFiltered(ctx context.Context, teamID string, f AuditFilter, page Page) ([]AuditEntry, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	if err := f.Check(); err != nil {
		return nil, "", err
	}
	if teamID != "" && !attach.ValidID(teamID) {
		return nil, "", attach.NotFound("team")
	}
	sql, args := auditListQuery(teamID, f, page)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", DBError("list audit log", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) { return scanAudit(r) })
	if err != nil {
		return nil, "", DBError("list audit log", err)
	}
	list, next := cut(list, page.Limit, func(e AuditEntry) string { return e.ID })
	return list, next, nil
}

// auditListQuery is the page query of a checked filter and page: each shape
// of filter is its own statement, and the team's leads with (team_id, id
// DESC), so the index on it serves every page without a sort.
func auditListQuery(teamID string, f AuditFilter, page Page) (string, []any) {
	q := auditQuery{args: []any{page.Limit + 1}}
	if teamID == "" {
		q.where("team_id IS NULL")
	} else {
		q.where("team_id = $%d", teamID)
	}
	if page.After != "" {
		q.where("id < $%d", page.After)
	}
	if f.Actor != "" {
		q.where("actor ILIKE $%d", "%"+escapeLike(f.Actor)+"%")
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		q.where("action LIKE $%d", escapeLike(prefix)+".%")
	} else if f.Action != "" {
		q.where("action = $%d", f.Action)
	}
	if !f.From.IsZero() {
		q.where("created_at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		q.where("created_at < $%d", f.To)
	}
	return "SELECT " + auditColumns + " FROM audit_log WHERE " + strings.Join(q.conds, " AND ") + " ORDER BY id DESC LIMIT $1", q.args
}

// auditQuery gathers the conditions of a listing and their arguments ($1 is
// the limit).
type auditQuery struct {
	conds []string
	args  []any
}

// where adds cond; a cond with a %d takes arg as its next parameter.
func (q *auditQuery) where(cond string, arg ...any) {
	if len(arg) == 0 {
		q.conds = append(q.conds, cond)
		return
	}
	q.args = append(q.args, arg[0])
	q.conds = append(q.conds, fmt.Sprintf(cond, len(q.args)))
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
