package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

const issuerColumns = "id, team_id, url, audience, algorithms, user_claim, created_at, updated_at"

func scanIssuer(row pgx.Row) (attach.Issuer, error) {
	var is attach.Issuer
	err := row.Scan(&is.ID, &is.TeamID, &is.URL, &is.Audience, &is.Algorithms, &is.UserClaim, &is.CreatedAt, &is.UpdatedAt)
	return is, err
}

// issuerAudit is the audit row of a change to is; the detail is the whole
// issuer, which holds nothing secret.
func issuerAudit(action string, is attach.Issuer) AuditEntry {
	return AuditEntry{TeamID: is.TeamID, Action: action, TargetType: "issuer", TargetID: is.ID, TargetName: is.URL,
		Detail: map[string]any{"issuer": is.URL, "audience": is.Audience, "algorithms": is.Algorithms, "user_claim": is.UserClaim}}
}

// CreateIssuer trusts a new IdP for the team; the same URL and audience
// twice is a conflict.
func (s *Store) CreateIssuer(ctx context.Context, teamID string, in IssuerInput) (attach.Issuer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Issuer{}, err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return attach.Issuer{}, err
	}
	var is attach.Issuer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		is, err = scanIssuer(tx.QueryRow(ctx,
			`INSERT INTO issuers (id, team_id, url, audience, algorithms, user_claim)
			 VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+issuerColumns,
			id, teamID, in.URL, in.Audience, in.Algorithms, in.UserClaim))
		if err != nil {
			return DBError("create issuer", err)
		}
		return audit(ctx, tx, issuerAudit(AuditIssuerCreate, is))
	})
	return is, err
}

// GetIssuer finds one issuer of the team.
func (s *Store) GetIssuer(ctx context.Context, teamID, id string) (attach.Issuer, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Issuer{}, attach.NotFound("issuer")
	}
	is, err := scanIssuer(s.pool.QueryRow(ctx,
		"SELECT "+issuerColumns+" FROM issuers WHERE team_id = $1 AND id = $2", teamID, id))
	return is, DBError("get issuer", err)
}

// ListIssuers returns one page of the team's issuers in creation order.
func (s *Store) ListIssuers(ctx context.Context, teamID string, page Page) ([]attach.Issuer, string, error) {
	return listTeamRows(ctx, s, "issuers", issuerColumns, teamID, page, scanIssuer, func(is attach.Issuer) string { return is.ID })
}

// UpdateIssuer replaces every field of an issuer.
func (s *Store) UpdateIssuer(ctx context.Context, teamID, id string, in IssuerInput) (attach.Issuer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Issuer{}, err
	}
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Issuer{}, attach.NotFound("issuer")
	}
	var is attach.Issuer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		is, err = scanIssuer(tx.QueryRow(ctx,
			`UPDATE issuers SET url = $3, audience = $4, algorithms = $5, user_claim = $6, updated_at = now()
			 WHERE team_id = $1 AND id = $2 RETURNING `+issuerColumns,
			teamID, id, in.URL, in.Audience, in.Algorithms, in.UserClaim))
		if err != nil {
			return DBError("update issuer", err)
		}
		return audit(ctx, tx, issuerAudit(AuditIssuerUpdate, is))
	})
	return is, err
}

// DeleteIssuer stops trusting an IdP.
func (s *Store) DeleteIssuer(ctx context.Context, teamID, id string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.NotFound("issuer")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		is, err := scanIssuer(tx.QueryRow(ctx,
			"DELETE FROM issuers WHERE team_id = $1 AND id = $2 RETURNING "+issuerColumns, teamID, id))
		if err != nil {
			return DBError("delete issuer", err)
		}
		return audit(ctx, tx, issuerAudit(AuditIssuerDelete, is))
	})
}

// EnsureIssuer makes sure the team trusts the IdP at in.URL for
// in.Audience, creating it or updating its algorithms and user claim. It is
// idempotent and safe to run from several replicas at once; an unchanged
// issuer is not written (no reload is signalled, nothing audited).
func (s *Store) EnsureIssuer(ctx context.Context, teamID string, in IssuerInput) (attach.Issuer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Issuer{}, err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return attach.Issuer{}, err
	}
	var is attach.Issuer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// xmax is 0 on a row this statement inserted, not on one it updated.
		var inserted bool
		err := tx.QueryRow(ctx,
			`INSERT INTO issuers (id, team_id, url, audience, algorithms, user_claim)
			 VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (team_id, url, audience) DO UPDATE
			   SET algorithms = EXCLUDED.algorithms, user_claim = EXCLUDED.user_claim, updated_at = now()
			   WHERE (issuers.algorithms, issuers.user_claim) IS DISTINCT FROM (EXCLUDED.algorithms, EXCLUDED.user_claim)
			 RETURNING `+issuerColumns+`, xmax = 0`,
			id, teamID, in.URL, in.Audience, in.Algorithms, in.UserClaim).Scan(
			&is.ID, &is.TeamID, &is.URL, &is.Audience, &is.Algorithms, &is.UserClaim, &is.CreatedAt, &is.UpdatedAt, &inserted)
		if errors.Is(err, pgx.ErrNoRows) { // already as asked
			is, err = scanIssuer(tx.QueryRow(ctx,
				"SELECT "+issuerColumns+" FROM issuers WHERE team_id = $1 AND url = $2 AND audience = $3",
				teamID, in.URL, in.Audience))
			return DBError("ensure issuer", err)
		}
		if err != nil {
			return DBError("ensure issuer", err)
		}
		action := AuditIssuerUpdate
		if inserted {
			action = AuditIssuerCreate
		}
		return audit(ctx, tx, issuerAudit(action, is))
	})
	return is, err
}
