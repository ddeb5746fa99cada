package tenants

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// read builds snapshots of one team (teamID) or of all ("") from one
// consistent view of the database.
func (d *Directory) read(ctx context.Context, teamID string) ([]*Snapshot, error) {
	var arg any
	if teamID != "" {
		arg = teamID
	}
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only

	teams, err := collect(ctx, tx, "SELECT "+teamColumns+" FROM teams WHERE ($1::uuid IS NULL OR id = $1) ORDER BY id", arg,
		func(r pgx.CollectableRow) (attach.Team, error) { return scanTeam(r) })
	if err != nil {
		return nil, fmt.Errorf("read teams: %w", err)
	}
	if len(teams) == 0 {
		return nil, nil
	}
	issuers, err := collect(ctx, tx, "SELECT "+issuerColumns+" FROM issuers WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg,
		func(r pgx.CollectableRow) (attach.Issuer, error) { return scanIssuer(r) })
	if err != nil {
		return nil, fmt.Errorf("read issuers: %w", err)
	}
	engines, err := collect(ctx, tx, "SELECT "+engineColumns+" FROM engines WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg,
		func(r pgx.CollectableRow) (engineRow, error) { return scanEngine(r) })
	if err != nil {
		return nil, fmt.Errorf("read engines: %w", err)
	}
	keys, err := collect(ctx, tx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg,
		func(r pgx.CollectableRow) (attach.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("read API keys: %w", err)
	}
	memory, err := collect(ctx, tx, "SELECT "+teamMemoryColumns+" FROM team_memory_settings WHERE ($1::uuid IS NULL OR team_id = $1)", arg,
		func(r pgx.CollectableRow) (teamMemory, error) { return scanTeamMemory(r) })
	if err != nil {
		return nil, fmt.Errorf("read memory settings: %w", err)
	}

	slugs := make(map[string]string, len(teams))
	for _, t := range teams {
		slugs[t.ID] = t.Slug
	}
	issuersOf := map[string][]attach.Issuer{}
	for _, is := range issuers {
		issuersOf[is.TeamID] = append(issuersOf[is.TeamID], is)
	}
	enginesOf := map[string][]attach.Engine{}
	for _, row := range engines {
		e := row.Engine
		e.APIKey = d.openKey(slugs[e.TeamID], row)
		enginesOf[e.TeamID] = append(enginesOf[e.TeamID], e)
	}
	keysOf := map[string][]attach.APIKey{}
	for _, k := range keys {
		keysOf[k.TeamID] = append(keysOf[k.TeamID], k)
	}
	memoryOf := make(map[string]MemorySettings, len(memory))
	for _, m := range memory {
		memoryOf[m.teamID] = m.settings
	}
	snaps := make([]*Snapshot, 0, len(teams))
	for _, t := range teams {
		snap := NewSnapshot(t, issuersOf[t.ID], enginesOf[t.ID], keysOf[t.ID], d.version.Add(1))
		snap.Memory = memoryOf[t.ID]
		snaps = append(snaps, snap)
	}
	return snaps, nil
}

// openKey decrypts an engine's upstream key. A key that cannot be opened
// (wrong ATTACH_SECRET_KEY, damaged row) costs that engine its key, not the
// team its configuration; the log names the engine, never the secret.
func (d *Directory) openKey(teamSlug string, row engineRow) string {
	if row.sealedKey == nil {
		return ""
	}
	if d.sealer == nil {
		d.log.Error("engine API key skipped", "team", teamSlug, "engine", row.Name, "engine_id", row.ID, "err", errNoSealer)
		return ""
	}
	plain, err := d.sealer.Open(row.sealedKey, engineAD(row.ID))
	if err != nil {
		d.log.Error("engine API key skipped: it cannot be decrypted with the configured secret key",
			"team", teamSlug, "engine", row.Name, "engine_id", row.ID, "err", err)
		return ""
	}
	return string(plain)
}

func collect[T any](ctx context.Context, tx pgx.Tx, sql string, arg any, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := tx.Query(ctx, sql, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}
