package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps teams and their configuration in Postgres. Every method takes
// the ids and slugs of the caller's routes; a team id that does not exist is
// ErrNotFound, a name already taken is ErrConflict, bad input is a
// *ValidationError.
type Store struct {
	pool   *pgxpool.Pool
	sealer *Sealer
	pw     *passwordHasher
}

// NewStore wraps pool. sealer encrypts engine API keys; with a nil sealer,
// engines can still be stored, but not with an API key.
func NewStore(pool *pgxpool.Pool, sealer *Sealer) *Store {
	return &Store{pool: pool, sealer: sealer, pw: newPasswordHasher(defaultArgon2Params)}
}

// newID makes a UUIDv7: ordered by creation time, so it doubles as the
// pagination key.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("make id: %w", err)
	}
	return id.String(), nil
}

// validID tells whether s can be an id at all; anything else cannot exist,
// so callers answer ErrNotFound without asking Postgres.
func validID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
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
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, ErrConflict)
		case "23503": // foreign_key_violation: the team or user is gone
			if strings.HasSuffix(pgErr.ConstraintName, "_user_fk") {
				return fmt.Errorf("%s: user %w", what, ErrNotFound)
			}
			return fmt.Errorf("%s: team %w", what, ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, ErrNotFound) }

// inTx runs fn in a transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr("commit", err)
	}
	return nil
}

// lockTeam holds the team row until the transaction ends. Changes that
// must see a stable set of engines (who is default, does this name exist)
// take it first, so two of them on one team run one after the other. NO KEY
// UPDATE does not block inserts that only reference the team.
func lockTeam(ctx context.Context, tx pgx.Tx, teamID string) error {
	if !validID(teamID) {
		return notFound("team")
	}
	var one int
	err := tx.QueryRow(ctx, "SELECT 1 FROM teams WHERE id = $1 FOR NO KEY UPDATE", teamID).Scan(&one)
	return dbErr("team", err)
}
