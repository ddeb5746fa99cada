package tenants

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

const engineColumns = "id, team_id, name, dialect, base_url, api_key_enc, api_key_last4, models, is_default, created_at, updated_at"

// engineRow is an engine as stored: the sealed key beside the public fields.
type engineRow struct {
	attach.Engine
	sealedKey []byte
}

func scanEngine(row pgx.Row) (engineRow, error) {
	var e engineRow
	err := row.Scan(&e.ID, &e.TeamID, &e.Name, &e.Dialect, &e.BaseURL, &e.sealedKey, &e.APIKeyLast4,
		&e.Models, &e.Default, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// engineAD binds a sealed key to its engine row.
func engineAD(engineID string) []byte { return []byte("attach engine api key:" + engineID) }

// sealKey encrypts an upstream key for the engine id; "" stores nothing.
func (s *Store) sealKey(engineID, key string) (sealed []byte, last4 string, err error) {
	return s.sealSecret("an engine API key", key, engineAD(engineID))
}

// keyLast4 is what the console shows of a key. A short key shows nothing:
// four of its characters would give away too much of it.
func keyLast4(key string) string {
	if len(key) < 12 {
		return ""
	}
	return key[len(key)-4:]
}

// CreateEngine adds an upstream engine to the team. With in.Default it
// becomes the team's default and the previous default stops being one.
func (s *Store) CreateEngine(ctx context.Context, teamID string, in EngineInput) (attach.Engine, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Engine{}, err
	}
	var e attach.Engine
	err = s.inLockedTeamTx(ctx, teamID, func(tx pgx.Tx) error {
		e, err = s.insertEngine(ctx, tx, teamID, in)
		return err
	})
	return e, err
}

func (s *Store) insertEngine(ctx context.Context, tx pgx.Tx, teamID string, in EngineInput) (attach.Engine, error) {
	id, err := attach.NewID()
	if err != nil {
		return attach.Engine{}, err
	}
	var key string
	if in.APIKey != nil {
		key = *in.APIKey
	}
	sealed, last4, err := s.sealKey(id, key)
	if err != nil {
		return attach.Engine{}, err
	}
	if in.Default {
		if err := clearDefault(ctx, tx, teamID, id); err != nil {
			return attach.Engine{}, err
		}
	}
	row, err := scanEngine(tx.QueryRow(ctx,
		`INSERT INTO engines (id, team_id, name, dialect, base_url, api_key_enc, api_key_last4, models, is_default)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+engineColumns,
		id, teamID, in.Name, in.Dialect, in.BaseURL, sealed, last4, in.Models, in.Default))
	if err != nil {
		return attach.Engine{}, DBError("create engine", err)
	}
	return row.Engine, audit(ctx, tx, engineAudit(AuditEngineCreate, row.Engine, keyChange(in.APIKey, true)))
}

// engineAudit is the audit row of a change to e. Of the upstream key it
// says only what happened to it ("set", "removed", "unchanged", "none").
func engineAudit(action string, e attach.Engine, key string) AuditEntry {
	d := engineFields(e)
	if key != "" {
		d["api_key"] = key
	}
	return AuditEntry{TeamID: e.TeamID, Action: action, TargetType: "engine", TargetID: e.ID, TargetName: e.Name, Detail: d}
}

// engineFields are the engine's settings as the audit log shows them.
func engineFields(e attach.Engine) map[string]any {
	return map[string]any{"name": e.Name, "dialect": e.Dialect, "base_url": e.BaseURL, "models": e.Models, "default": e.Default}
}

func keyChange(key *string, creating bool) string {
	switch {
	case key != nil && *key != "":
		return "set"
	case creating:
		return "none"
	case key == nil:
		return "unchanged"
	default:
		return "removed"
	}
}

func clearDefault(ctx context.Context, tx pgx.Tx, teamID, exceptID string) error {
	_, err := tx.Exec(ctx,
		"UPDATE engines SET is_default = false, updated_at = now() WHERE team_id = $1 AND is_default AND id <> $2",
		teamID, exceptID)
	return DBError("clear default engine", err)
}

// GetEngine finds one engine of the team. Its APIKey is never filled here.
func (s *Store) GetEngine(ctx context.Context, teamID, id string) (attach.Engine, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Engine{}, attach.NotFound("engine")
	}
	row, err := scanEngine(s.pool.QueryRow(ctx,
		"SELECT "+engineColumns+" FROM engines WHERE team_id = $1 AND id = $2", teamID, id))
	return row.Engine, DBError("get engine", err)
}

// ListEngines returns one page of the team's engines in creation order.
func (s *Store) ListEngines(ctx context.Context, teamID string, page Page) ([]attach.Engine, string, error) {
	scan := func(r pgx.Row) (attach.Engine, error) {
		row, err := scanEngine(r)
		return row.Engine, err
	}
	return listTeamRows(ctx, s, "engines", engineColumns, teamID, page, scan, func(e attach.Engine) string { return e.ID })
}

// UpdateEngine replaces an engine's fields. in.APIKey nil keeps the stored
// key, "" removes it.
func (s *Store) UpdateEngine(ctx context.Context, teamID, id string, in EngineInput) (attach.Engine, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Engine{}, err
	}
	if !attach.ValidID(id) {
		return attach.Engine{}, attach.NotFound("engine")
	}
	var e attach.Engine
	err = s.inLockedTeamTx(ctx, teamID, func(tx pgx.Tx) error {
		e, err = s.updateEngine(ctx, tx, teamID, id, in)
		return err
	})
	return e, err
}

func (s *Store) updateEngine(ctx context.Context, tx pgx.Tx, teamID, id string, in EngineInput) (attach.Engine, error) {
	setKey := in.APIKey != nil
	var sealed []byte
	var last4 string
	if setKey {
		var err error
		if sealed, last4, err = s.sealKey(id, *in.APIKey); err != nil {
			return attach.Engine{}, err
		}
	}
	before, err := scanEngine(tx.QueryRow(ctx, `SELECT `+engineColumns+` FROM engines WHERE team_id = $1 AND id = $2 FOR UPDATE`, teamID, id))
	if err != nil {
		return attach.Engine{}, DBError("update engine", err)
	}
	if in.Default {
		if err := clearDefault(ctx, tx, teamID, id); err != nil {
			return attach.Engine{}, err
		}
	}
	row, err := scanEngine(tx.QueryRow(ctx,
		`UPDATE engines SET name = $3, dialect = $4, base_url = $5, models = $6, is_default = $7,
		   api_key_enc   = CASE WHEN $8 THEN $9 ELSE api_key_enc END,
		   api_key_last4 = CASE WHEN $8 THEN $10 ELSE api_key_last4 END,
		   updated_at = now()
		 WHERE team_id = $1 AND id = $2 RETURNING `+engineColumns,
		teamID, id, in.Name, in.Dialect, in.BaseURL, in.Models, in.Default, setKey, sealed, last4))
	if err != nil {
		return attach.Engine{}, DBError("update engine", err)
	}
	entry := engineAudit(AuditEngineUpdate, row.Engine, "")
	detail, changed := auditChanges(engineFields(before.Engine), engineFields(row.Engine), "api_key", keyChange(in.APIKey, false))
	if !changed {
		return row.Engine, nil // saved as it was: nothing to record
	}
	entry.Detail = detail
	return row.Engine, audit(ctx, tx, entry)
}

// DeleteEngine removes an engine.
func (s *Store) DeleteEngine(ctx context.Context, teamID, id string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.NotFound("engine")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanEngine(tx.QueryRow(ctx,
			"DELETE FROM engines WHERE team_id = $1 AND id = $2 RETURNING "+engineColumns, teamID, id))
		if err != nil {
			return DBError("delete engine", err)
		}
		return audit(ctx, tx, engineAudit(AuditEngineDelete, row.Engine, ""))
	})
}

// EnsureEngine makes the team's engine named in.Name look like in: created
// when missing, updated when different, left alone (no write, no reload
// signalled) when equal. The team row lock makes concurrent runs from
// several replicas take turns, and the sealed key's engine id is known
// before anything is written.
func (s *Store) EnsureEngine(ctx context.Context, teamID string, in EngineInput) (attach.Engine, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Engine{}, err
	}
	var e attach.Engine
	err = s.inLockedTeamTx(ctx, teamID, func(tx pgx.Tx) error {
		cur, err := scanEngine(tx.QueryRow(ctx,
			"SELECT "+engineColumns+" FROM engines WHERE team_id = $1 AND name = $2", teamID, in.Name))
		if errors.Is(err, pgx.ErrNoRows) {
			e, err = s.insertEngine(ctx, tx, teamID, in)
			return err
		}
		if err != nil {
			return DBError("ensure engine", err)
		}
		if s.engineMatches(cur, in) {
			e = cur.Engine
			return nil
		}
		e, err = s.updateEngine(ctx, tx, teamID, cur.ID, in)
		return err
	})
	return e, err
}

// engineMatches tells whether writing in over cur would change nothing.
func (s *Store) engineMatches(cur engineRow, in EngineInput) bool {
	if cur.Dialect != in.Dialect || cur.BaseURL != in.BaseURL || cur.Default != in.Default || !slices.Equal(cur.Models, in.Models) {
		return false
	}
	if in.APIKey == nil {
		return true
	}
	if *in.APIKey == "" || cur.sealedKey == nil || s.sealer == nil {
		return (*in.APIKey == "") == (cur.sealedKey == nil)
	}
	plain, err := s.sealer.Open(cur.sealedKey, engineAD(cur.ID))
	return err == nil && string(plain) == *in.APIKey
}
