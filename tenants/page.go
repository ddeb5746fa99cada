package tenants

import (
	"context"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Page asks for one page of a list. Lists are ordered by id, and ids are
// UUIDv7, so a page is a slice of creation order and a cursor stays valid
// while rows are added or removed.
type Page struct {
	Limit int    // 1..200; 0 means 50
	After string // opaque cursor from the previous page; "" for the first
}

const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// normalize checks a Page and fills in its default.
func (p Page) normalize() (Page, error) {
	switch {
	case p.Limit == 0:
		p.Limit = defaultPageLimit
	case p.Limit < 0 || p.Limit > maxPageLimit:
		return p, attach.Invalid("limit", "must be from 1 to 200")
	}
	if p.After != "" {
		if !attach.ValidID(p.After) {
			return p, attach.Invalid("after", "is not a cursor from a previous page")
		}
	}
	return p, nil
}

// afterArg is the SQL argument for the cursor: NULL for the first page.
func (p Page) afterArg() any {
	if p.After == "" {
		return nil
	}
	return p.After
}

// cut trims the one extra row a query fetched to learn whether another page
// exists, and returns the cursor of the next page ("" at the end).
func cut[T any](rows []T, limit int, id func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, id(rows[limit-1])
}

// listTeamRows reads one page of a team's rows of table (a constant, never
// user input) in creation order.
func listTeamRows[T any](ctx context.Context, s *Store, table, columns, teamID string, page Page,
	scan func(pgx.Row) (T, error), id func(T) string) ([]T, string, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, "", err
	}
	if !attach.ValidID(teamID) {
		return nil, "", attach.NotFound("team")
	}
	args := []any{teamID, page.Limit + 1}
	if page.After != "" {
		args = append(args, page.After)
	}
	rows, err := s.pool.Query(ctx, teamRowsSQL(table, columns, page.After != ""), args...)
	if err != nil {
		return nil, "", DBError("list "+table, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, "", DBError("list "+table, err)
	}
	list, next := cut(list, page.Limit, id)
	return list, next, nil
}

// teamRowsSQL is the page query of listTeamRows: $1 the team, $2 the limit,
// $3 the cursor if there is one. The first page and the next ones are
// separate statements so that the (team_id, id) index bounds both ends of
// every page, whatever plan Postgres caches for a prepared statement.
func teamRowsSQL(table, columns string, cursor bool) string {
	where := "team_id = $1"
	if cursor {
		where += " AND id > $3"
	}
	return "SELECT " + columns + " FROM " + table + " WHERE " + where + " ORDER BY id LIMIT $2"
}
