package tenants

import (
	"context"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// AuditEngineModelsImport is the audit action of models added to an
// engine's list from what the engine itself serves.
const AuditEngineModelsImport = "engine.models_import"

// maxEngineModels is how many models one engine may list, as the engine
// form and API allow.
const maxEngineModels = 1000

// AddEngineModels appends models to the engine's model list, skipping the
// ones it lists already ("llama3" and "llama3:latest" are the same), and
// returns the engine and the models it added. Nothing added: no write and
// no audit entry. The team row lock orders it with the engine form's saves,
// so a save and an import never lose each other's models.
func (s *Store) AddEngineModels(ctx context.Context, teamID, id string, models []string) (attach.Engine, []string, error) {
	models, err := stringSet("models", models, 200)
	if err != nil {
		return attach.Engine{}, nil, err
	}
	if !attach.ValidID(id) {
		return attach.Engine{}, nil, attach.NotFound("engine")
	}
	var e attach.Engine
	var added []string
	err = s.inLockedTeamTx(ctx, teamID, func(tx pgx.Tx) error {
		cur, err := scanEngine(tx.QueryRow(ctx,
			"SELECT "+engineColumns+" FROM engines WHERE team_id = $1 AND id = $2", teamID, id))
		if err != nil {
			return DBError("get engine", err)
		}
		e = cur.Engine
		merged, more := mergeModelLists(cur.Models, models)
		if len(more) == 0 {
			return nil
		}
		if len(merged) > maxEngineModels {
			return attach.Invalid("models", "an engine lists at most 1000 models")
		}
		row, err := scanEngine(tx.QueryRow(ctx,
			`UPDATE engines SET models = $3, updated_at = now() WHERE team_id = $1 AND id = $2 RETURNING `+engineColumns,
			teamID, id, merged))
		if err != nil {
			return DBError("import engine models", err)
		}
		e, added = row.Engine, more
		entry := engineAudit(AuditEngineModelsImport, e, "")
		entry.Detail["added"] = added
		return audit(ctx, tx, entry)
	})
	if err != nil {
		return attach.Engine{}, nil, err
	}
	return e, added, nil
}

// mergeModelLists is have followed by the models of more it lacks, by
// canonical name, and those models.
func mergeModelLists(have, more []string) (merged, added []string) {
	seen := make(map[string]bool, len(have)+len(more))
	merged = append([]string(nil), have...)
	for _, m := range have {
		seen[CanonicalModel(m)] = true
	}
	for _, m := range more {
		if c := CanonicalModel(m); !seen[c] {
			seen[c] = true
			merged = append(merged, m)
			added = append(added, m)
		}
	}
	return merged, added
}

// CompareModels sets what an engine serves beside what it is configured
// with, by canonical name: missing are configured models it does not
// serve (requests for them would fail at the engine), extra are models it
// serves that its list lacks (the gateway sends them to it only when it
// is the default engine).
func CompareModels(configured, served []string) (missing, extra []string) {
	has := make(map[string]bool, len(served))
	for _, m := range served {
		has[CanonicalModel(m)] = true
	}
	for _, m := range configured {
		if !has[CanonicalModel(m)] {
			missing = append(missing, m)
		}
	}
	_, extra = mergeModelLists(configured, served)
	return missing, extra
}
