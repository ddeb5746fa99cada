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

	teams, err := collect(ctx, tx, "teams", "SELECT "+teamColumns+" FROM teams WHERE ($1::uuid IS NULL OR id = $1) ORDER BY id", arg, scanTeam)
	if err != nil {
		return nil, err
	}
	if len(teams) == 0 {
		return nil, nil
	}
	issuers, err := collect(ctx, tx, "issuers", "SELECT "+issuerColumns+" FROM issuers WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg, scanIssuerRow)
	if err != nil {
		return nil, err
	}
	engines, err := collect(ctx, tx, "engines", "SELECT "+engineColumns+" FROM engines WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg, scanEngine)
	if err != nil {
		return nil, err
	}
	agents, err := collect(ctx, tx, "agents", "SELECT "+agentColumns+" FROM agents WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg, scanAgent)
	if err != nil {
		return nil, err
	}
	mcpServers, err := collect(ctx, tx, "MCP servers", "SELECT "+mcpServerColumns+" FROM mcp_servers WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg, scanMCPServer)
	if err != nil {
		return nil, err
	}
	keys, err := collect(ctx, tx, "API keys", "SELECT "+apiKeyColumns+" FROM api_keys WHERE ($1::uuid IS NULL OR team_id = $1) ORDER BY id", arg, scanAPIKey)
	if err != nil {
		return nil, err
	}
	memory, err := collect(ctx, tx, "memory settings", "SELECT "+teamMemoryColumns+" FROM team_memory_settings WHERE ($1::uuid IS NULL OR team_id = $1)", arg, scanTeamMemory)
	if err != nil {
		return nil, err
	}
	dids, err := collect(ctx, tx, "DID policies", "SELECT "+didPolicyColumns+" FROM team_did_policies WHERE ($1::uuid IS NULL OR team_id = $1)", arg, scanDIDPolicy)
	if err != nil {
		return nil, err
	}

	quotas, err := collect(ctx, tx, "quotas", "SELECT "+quotaColumns+" FROM team_quotas WHERE ($1::uuid IS NULL OR team_id = $1)", arg, scanQuotaRow)
	if err != nil {
		return nil, err
	}

	slugs := make(map[string]string, len(teams))
	for _, t := range teams {
		slugs[t.ID] = t.Slug
	}
	issuersOf := map[string][]attach.Issuer{}
	for _, row := range issuers {
		is := row.Issuer
		if is.Exchange != nil {
			// Without its secret the gateway cannot exchange; the log says why.
			is.Exchange.ClientSecret = d.openSecret("exchange client secret", slugs[is.TeamID], is.URL, is.ID, row.sealedSecret, issuerExchangeAD(is.ID))
			if is.Exchange.ClientSecret == "" {
				is.Exchange = nil
			}
		}
		issuersOf[is.TeamID] = append(issuersOf[is.TeamID], is)
	}
	enginesOf := map[string][]attach.Engine{}
	for _, row := range engines {
		e := row.Engine
		e.APIKey = d.openKey(slugs[e.TeamID], row)
		enginesOf[e.TeamID] = append(enginesOf[e.TeamID], e)
	}
	agentsOf := map[string][]attach.Agent{}
	for _, row := range agents {
		a := row.Agent
		a.Credential = d.openSecret("agent credential", slugs[a.TeamID], a.Name, a.ID, row.sealedCredential, agentAD(a.ID))
		agentsOf[a.TeamID] = append(agentsOf[a.TeamID], a)
	}
	mcpOf := map[string][]attach.MCPServer{}
	for _, row := range mcpServers {
		m := row.MCPServer
		m.Credential = d.openSecret("MCP server credential", slugs[m.TeamID], m.Name, m.ID, row.sealedCredential, mcpServerAD(m.ID))
		mcpOf[m.TeamID] = append(mcpOf[m.TeamID], m)
	}
	keysOf := map[string][]attach.APIKey{}
	for _, k := range keys {
		keysOf[k.TeamID] = append(keysOf[k.TeamID], k)
	}
	memoryOf := make(map[string]MemorySettings, len(memory))
	for _, m := range memory {
		memoryOf[m.teamID] = m.settings
	}
	didOf := make(map[string]attach.DIDPolicy, len(dids))
	for _, d := range dids {
		didOf[d.teamID] = d.policy
	}
	quotasByTeam := quotasOf(quotas)
	snaps := make([]*Snapshot, 0, len(teams))
	for _, t := range teams {
		snap := NewSnapshot(t, issuersOf[t.ID], enginesOf[t.ID], agentsOf[t.ID], keysOf[t.ID], d.version.Add(1))
		snap.Memory = memoryOf[t.ID]
		snap.DID = didOf[t.ID]
		snap.MCPServers = mcpOf[t.ID]
		snap.Quotas = quotasByTeam[t.ID]
		snaps = append(snaps, snap)
	}
	return snaps, nil
}

// openKey decrypts an engine's upstream key.
func (d *Directory) openKey(teamSlug string, row engineRow) string {
	return d.openSecret("engine API key", teamSlug, row.Name, row.ID, row.sealedKey, engineAD(row.ID))
}

// openSecret decrypts the upstream secret (what: "engine API key", "agent
// credential") of the thing called name. A secret that cannot be opened
// (wrong ATTACH_SECRET_KEY, damaged row) costs that thing its secret, not
// the team its configuration; the log names the thing, never the secret.
func (d *Directory) openSecret(what, teamSlug, name, id string, sealed, ad []byte) string {
	if sealed == nil {
		return ""
	}
	if d.sealer == nil {
		d.log.Error(what+" skipped", "team", teamSlug, "name", name, "id", id, "err", errNoSealer)
		return ""
	}
	plain, err := d.sealer.Open(sealed, ad)
	if err != nil {
		d.log.Error(what+" skipped: it cannot be decrypted with the configured secret key",
			"team", teamSlug, "name", name, "id", id, "err", err)
		return ""
	}
	return string(plain)
}

// collect reads every row of sql with scan, the function that reads one
// row of the table elsewhere in the store; what names the rows in the error.
func collect[T any](ctx context.Context, tx pgx.Tx, what, sql string, arg any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := tx.Query(ctx, sql, arg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return list, nil
}
