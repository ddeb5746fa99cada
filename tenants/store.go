package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
)

// Store keeps teams and their configuration in Postgres. Every method takes
// the ids and slugs of the caller's routes. Its errors are *attach.Error
// where the caller should hear them: a team id that does not exist is
// attach.CodeNotFound, a name already taken attach.CodeConflict, bad input
// attach.CodeInvalid with the field.
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

// DBError turns a Postgres error into an *attach.Error when it means
// something the caller should hear: no row is not found, a taken unique
// name a conflict, a missing team or user (a foreign key) not found. Any
// other error is a failure of ours, wrapped with what failed. Both stores
// use it.
func DBError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return attach.Errorf(attach.CodeNotFound, "%s: not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return attach.Errorf(attach.CodeConflict, "%s: already exists", what)
		case "23503": // foreign_key_violation: the team or user is gone
			gone := "team"
			if strings.HasSuffix(pgErr.ConstraintName, "_user_fk") {
				gone = "user"
			}
			return attach.Errorf(attach.CodeNotFound, "%s: %s not found", what, gone)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// inTx runs fn in a transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return InTx(ctx, s.pool, fn)
}

// InTx runs fn in a transaction on pool and commits when it returns nil;
// the memory store writes its events and outbox rows through it too.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return DBError("commit", err)
	}
	return nil
}

// inLockedTeamTx runs fn in a transaction that holds teamID's row lock
// (lockTeam) from its start.
func (s *Store) inLockedTeamTx(ctx context.Context, teamID string, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockTeam(ctx, tx, teamID); err != nil {
			return err
		}
		return fn(tx)
	})
}

// lockTeam holds the team row until the transaction ends. Changes that
// must see a stable set of engines (who is default, does this name exist)
// take it first, so two of them on one team run one after the other. NO KEY
// UPDATE does not block inserts that only reference the team.
func lockTeam(ctx context.Context, tx pgx.Tx, teamID string) error {
	if !attach.ValidID(teamID) {
		return attach.NotFound("team")
	}
	var one int
	err := tx.QueryRow(ctx, "SELECT 1 FROM teams WHERE id = $1 FOR NO KEY UPDATE", teamID).Scan(&one)
	return DBError("team", err)
}

// newRowID makes the id of a new row of team teamID, or says the team is
// not found when teamID cannot name one (a malformed id never reaches SQL).
func newRowID(teamID string) (string, error) {
	if !attach.ValidID(teamID) {
		return "", attach.NotFound("team")
	}
	return attach.NewID()
}
