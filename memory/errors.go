package memory

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	attach "github.com/attach-dev/attach-gateway"
)

// disabled is the error for a team whose memory backend is "none": the
// team keeps no memory, so nothing can be stored or searched.
func disabled() error {
	return attach.Errorf(attach.CodeDisabled, "memory is turned off for this team")
}

// permanent tells a write error that will fail again however often it is
// retried (bad data, a team deleted meanwhile) from one that may pass later
// (a lost connection, a restarting server).
func permanent(err error) bool {
	switch attach.ErrorCode(err) {
	case attach.CodeNotFound, attach.CodeConflict: // tenants.DBError's names for a missing team, a duplicate
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
