package tenants

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

const apiKeyColumns = "id, team_id, name, prefix, hash, scopes, coalesce(created_by::text, ''), created_at, expires_at, last_used_at, revoked_at"

func scanAPIKey(row pgx.Row) (attach.APIKey, error) {
	var k attach.APIKey
	err := row.Scan(&k.ID, &k.TeamID, &k.Name, &k.Prefix, &k.Hash, &k.Scopes, &k.CreatedBy, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
	return k, err
}

// apiKeyAudit is the audit row of a change to k: its public parts only.
func apiKeyAudit(action string, k attach.APIKey) AuditEntry {
	d := map[string]any{"name": k.Name, "prefix": k.Prefix, "scopes": k.Scopes}
	if k.ExpiresAt != nil {
		d["expires_at"] = k.ExpiresAt
	}
	return AuditEntry{TeamID: k.TeamID, Action: action, TargetType: "apikey", TargetID: k.ID, TargetName: k.Name, Detail: d}
}

// CreateAPIKey mints a gateway key for the team. The returned token
// (atk_<prefix>_<secret>) is the only copy: just its SHA-256 is stored.
func (s *Store) CreateAPIKey(ctx context.Context, teamID string, in APIKeyInput) (attach.APIKey, string, error) {
	in, err := in.normalize(time.Now())
	if err != nil {
		return attach.APIKey{}, "", err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return attach.APIKey{}, "", err
	}
	// 48 random bits of prefix make a clash very unlikely; should one happen,
	// a fresh token is drawn.
	for attempt := 0; ; attempt++ {
		token, prefix, hash, err := attach.NewAPIKeyToken()
		if err != nil {
			return attach.APIKey{}, "", err
		}
		var k attach.APIKey
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			k, err = scanAPIKey(tx.QueryRow(ctx,
				`INSERT INTO api_keys (id, team_id, name, prefix, hash, scopes, expires_at, created_by)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				 ON CONFLICT (prefix) DO NOTHING RETURNING `+apiKeyColumns,
				id, teamID, in.Name, prefix, hash, in.Scopes, in.ExpiresAt, nullIfEmpty(in.CreatedBy)))
			if errors.Is(err, pgx.ErrNoRows) {
				return attach.Errorf(attach.CodeConflict, "create API key: prefix already exists")
			}
			if err != nil {
				return DBError("create API key", err)
			}
			return audit(ctx, tx, apiKeyAudit(AuditAPIKeyCreate, k))
		})
		if attach.ErrorCode(err) == attach.CodeConflict && attempt < 3 {
			continue
		}
		if err != nil {
			return attach.APIKey{}, "", err
		}
		return k, token, nil
	}
}

// GetAPIKey finds one key of the team.
func (s *Store) GetAPIKey(ctx context.Context, teamID, id string) (attach.APIKey, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.APIKey{}, attach.NotFound("API key")
	}
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE team_id = $1 AND id = $2", teamID, id))
	return k, DBError("get API key", err)
}

// ListAPIKeys returns one page of the team's keys, revoked ones included,
// in creation order.
func (s *Store) ListAPIKeys(ctx context.Context, teamID string, page Page) ([]attach.APIKey, string, error) {
	return listTeamRows(ctx, s, "api_keys", apiKeyColumns, teamID, page, scanAPIKey, func(k attach.APIKey) string { return k.ID })
}

// UpdateAPIKey replaces a key's name, scopes and expiry; the secret never
// changes. A revoked key stays revoked.
func (s *Store) UpdateAPIKey(ctx context.Context, teamID, id string, in APIKeyInput) (attach.APIKey, error) {
	in, err := in.normalize(time.Now())
	if err != nil {
		return attach.APIKey{}, err
	}
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.APIKey{}, attach.NotFound("API key")
	}
	var k attach.APIKey
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		k, err = scanAPIKey(tx.QueryRow(ctx,
			`UPDATE api_keys SET name = $3, scopes = $4, expires_at = $5
			 WHERE team_id = $1 AND id = $2 RETURNING `+apiKeyColumns,
			teamID, id, in.Name, in.Scopes, in.ExpiresAt))
		if err != nil {
			return DBError("update API key", err)
		}
		return audit(ctx, tx, apiKeyAudit(AuditAPIKeyUpdate, k))
	})
	return k, err
}

// RevokeAPIKey stops a key from working. Revoking an already revoked key
// succeeds and keeps the first revocation time, so a retried request is
// harmless (and audited once); an unknown key is not found.
func (s *Store) RevokeAPIKey(ctx context.Context, teamID, id string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.NotFound("API key")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the row, so of two concurrent revocations exactly one revokes.
		k, err := scanAPIKey(tx.QueryRow(ctx,
			"SELECT "+apiKeyColumns+" FROM api_keys WHERE team_id = $1 AND id = $2 FOR UPDATE", teamID, id))
		if err != nil {
			return DBError("revoke API key", err)
		}
		if k.RevokedAt != nil {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE api_keys SET revoked_at = now() WHERE id = $1", id); err != nil {
			return DBError("revoke API key", err)
		}
		return audit(ctx, tx, apiKeyAudit(AuditAPIKeyRevoke, k))
	})
}

// TouchAPIKeys records when keys were last used, keyed by key id, in one
// statement; the request path batches uses and calls this now and then. A
// time never moves backwards, and ids that are not keys are ignored. These
// writes do not make replicas reload the team.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	ids := make([]string, 0, len(used))
	times := make([]time.Time, 0, len(used))
	for id, t := range used {
		if attach.ValidID(id) {
			ids = append(ids, id)
			times = append(times, t)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx,
		`UPDATE api_keys AS k SET last_used_at = u.used_at
		 FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, used_at)
		 WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.used_at)`,
		ids, times)
	return DBError("record API key use", err)
}
