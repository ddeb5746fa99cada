package tenants

import "github.com/google/uuid"

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
		return p, &ValidationError{Field: "limit", Message: "must be from 1 to 200"}
	}
	if p.After != "" {
		if _, err := uuid.Parse(p.After); err != nil {
			return p, &ValidationError{Field: "after", Message: "is not a cursor from a previous page"}
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
