package tenants

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	attach "github.com/attach-dev/attach-gateway"
)

const issuerColumns = "id, team_id, url, audience, algorithms, user_claim, created_at, updated_at, exchange_client_id, exchange_secret_enc"

// issuerRow is an issuer as stored: the sealed exchange client secret
// beside the public fields.
type issuerRow struct {
	attach.Issuer
	sealedSecret []byte
}

func scanIssuerRow(row pgx.Row) (issuerRow, error) {
	var r issuerRow
	var clientID *string
	err := row.Scan(&r.ID, &r.TeamID, &r.URL, &r.Audience, &r.Algorithms, &r.UserClaim, &r.CreatedAt, &r.UpdatedAt, &clientID, &r.sealedSecret)
	if clientID != nil {
		r.Exchange = &attach.IssuerExchange{ClientID: *clientID}
	}
	return r, err
}

func scanIssuer(row pgx.Row) (attach.Issuer, error) {
	r, err := scanIssuerRow(row)
	return r.Issuer, err
}

// issuerAudit is the audit row of a change to is. Of the exchange client
// secret it says only what happened to it ("set", "unchanged", ...).
func issuerAudit(action string, is attach.Issuer, secret string) AuditEntry {
	d := issuerFields(is)
	if secret != "" {
		d["exchange_client_secret"] = secret
	}
	return AuditEntry{TeamID: is.TeamID, Action: action, TargetType: "issuer", TargetID: is.ID, TargetName: is.URL, Detail: d}
}

// issuerFields are the issuer's settings as the audit log shows them.
func issuerFields(is attach.Issuer) map[string]any {
	d := map[string]any{"issuer": is.URL, "audience": is.Audience, "algorithms": is.Algorithms, "user_claim": is.UserClaim}
	if is.Exchange != nil {
		d["exchange_client_id"] = is.Exchange.ClientID
	}
	return d
}

// issuerDBError is DBError, with the exchange issuer's constraints said as
// what the caller must change.
func issuerDBError(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.ConstraintName {
		case "issuers_one_exchange":
			return attach.Invalid("exchange", "the team already exchanges tokens at another issuer; take the setting off that issuer first")
		case "issuers_exchange_complete":
			return attach.Invalid("exchange.client_secret", "is required")
		}
	}
	return DBError(what, err)
}

// exchangeColumns are the values of exchange_client_id and the sealed
// secret for in; keep says the stored secret stays (an update without a
// new one).
func (s *Store) exchangeColumns(in IssuerInput, issuerID string) (clientID *string, sealed []byte, keep bool, err error) {
	if in.Exchange == nil {
		return nil, nil, false, nil
	}
	clientID = &in.Exchange.ClientID
	if in.Exchange.ClientSecret == nil {
		return clientID, nil, true, nil
	}
	sealed, _, err = s.sealSecret("an exchange client secret", *in.Exchange.ClientSecret, issuerExchangeAD(issuerID))
	return clientID, sealed, false, err
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
	if in.Exchange != nil && in.Exchange.ClientSecret == nil {
		return attach.Issuer{}, attach.Invalid("exchange.client_secret", "is required")
	}
	clientID, sealed, _, err := s.exchangeColumns(in, id)
	if err != nil {
		return attach.Issuer{}, err
	}
	var is attach.Issuer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		is, err = scanIssuer(tx.QueryRow(ctx,
			`INSERT INTO issuers (id, team_id, url, audience, algorithms, user_claim, exchange_client_id, exchange_secret_enc)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+issuerColumns,
			id, teamID, in.URL, in.Audience, in.Algorithms, in.UserClaim, clientID, sealed))
		if err != nil {
			return issuerDBError("create issuer", err)
		}
		return audit(ctx, tx, issuerAudit(AuditIssuerCreate, is, secretChange(in, true)))
	})
	return is, err
}

// secretChange says what a change does to the exchange client secret, for
// the audit log.
func secretChange(in IssuerInput, creating bool) string {
	if in.Exchange == nil {
		if creating {
			return ""
		}
		return "none"
	}
	return keyChange(in.Exchange.ClientSecret, creating)
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

// UpdateIssuer replaces every field of an issuer. An exchange setting
// without a client secret keeps the stored secret; no exchange setting
// removes it.
func (s *Store) UpdateIssuer(ctx context.Context, teamID, id string, in IssuerInput) (attach.Issuer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Issuer{}, err
	}
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Issuer{}, attach.NotFound("issuer")
	}
	clientID, sealed, keep, err := s.exchangeColumns(in, id)
	if err != nil {
		return attach.Issuer{}, err
	}
	var is attach.Issuer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		before, err := scanIssuer(tx.QueryRow(ctx, `SELECT `+issuerColumns+` FROM issuers WHERE team_id = $1 AND id = $2 FOR UPDATE`, teamID, id))
		if err != nil {
			return DBError("update issuer", err)
		}
		is, err = scanIssuer(tx.QueryRow(ctx,
			`UPDATE issuers SET url = $3, audience = $4, algorithms = $5, user_claim = $6,
			   exchange_client_id = $7,
			   exchange_secret_enc = CASE WHEN $8::boolean AND $7::text IS NOT NULL THEN exchange_secret_enc ELSE $9 END,
			   updated_at = now()
			 WHERE team_id = $1 AND id = $2 RETURNING `+issuerColumns,
			teamID, id, in.URL, in.Audience, in.Algorithms, in.UserClaim, clientID, keep, sealed))
		if err != nil {
			return issuerDBError("update issuer", err)
		}
		entry := issuerAudit(AuditIssuerUpdate, is, "")
		detail, changed := auditChanges(issuerFields(before), issuerFields(is), "exchange_client_secret", secretChange(in, false))
		if !changed {
			return nil // saved as it was: nothing to record
		}
		entry.Detail = detail
		return audit(ctx, tx, entry)
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
		return audit(ctx, tx, issuerAudit(AuditIssuerDelete, is, ""))
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
		// The exchange setting is left as it is: it is set through the
		// management API, never from the environment.
		var inserted bool
		var clientID *string
		var sealed []byte
		err := tx.QueryRow(ctx,
			`INSERT INTO issuers (id, team_id, url, audience, algorithms, user_claim)
			 VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (team_id, url, audience) DO UPDATE
			   SET algorithms = EXCLUDED.algorithms, user_claim = EXCLUDED.user_claim, updated_at = now()
			   WHERE (issuers.algorithms, issuers.user_claim) IS DISTINCT FROM (EXCLUDED.algorithms, EXCLUDED.user_claim)
			 RETURNING `+issuerColumns+`, xmax = 0`,
			id, teamID, in.URL, in.Audience, in.Algorithms, in.UserClaim).Scan(
			&is.ID, &is.TeamID, &is.URL, &is.Audience, &is.Algorithms, &is.UserClaim, &is.CreatedAt, &is.UpdatedAt, &clientID, &sealed, &inserted)
		if errors.Is(err, pgx.ErrNoRows) { // already as asked
			is, err = scanIssuer(tx.QueryRow(ctx,
				"SELECT "+issuerColumns+" FROM issuers WHERE team_id = $1 AND url = $2 AND audience = $3",
				teamID, in.URL, in.Audience))
			return DBError("ensure issuer", err)
		}
		if err != nil {
			return DBError("ensure issuer", err)
		}
		if clientID != nil {
			is.Exchange = &attach.IssuerExchange{ClientID: *clientID}
		}
		action := AuditIssuerUpdate
		if inserted {
			action = AuditIssuerCreate
		}
		return audit(ctx, tx, issuerAudit(action, is, ""))
	})
	return is, err
}
