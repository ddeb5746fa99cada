package memory

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Errors the store returns; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	// ErrDisabled is returned when a team's memory backend is "none": the
	// team keeps no memory, so nothing can be stored or searched.
	ErrDisabled = errors.New("memory is turned off for this team")
	// ErrUnavailable wraps a sink's failure to answer a search.
	ErrUnavailable = errors.New("memory backend unavailable")
)

// ValidationError says which field of an input is wrong and why.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }

// validID tells whether s can be an id at all; anything else cannot exist.
func validID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// newID makes a UUIDv7: ordered by creation time, so it doubles as the
// pagination key.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("make event id: %w", err)
	}
	return id.String(), nil
}

// dbErr turns Postgres errors into the store's errors, naming what failed.
func dbErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation: the team is gone
		return fmt.Errorf("%s: team %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// permanent tells a write error that will fail again however often it is
// retried (bad data, a team deleted meanwhile) from one that may pass later
// (a lost connection, a restarting server).
func permanent(err error) bool {
	if errors.Is(err, ErrNotFound) { // dbErr's name for a foreign key violation
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", // data exception
		"23", // integrity constraint violation
		"42": // syntax error or access rule violation
		return true
	}
	return false
}
