package tenants

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

const agentColumns = "id, team_id, name, base_url, version, credential_enc, credential_last4, card, card_version, card_error, card_fetched_at, created_at, updated_at"

// agentRow is an agent as stored: the sealed credential beside the public
// fields.
type agentRow struct {
	attach.Agent
	sealedCredential []byte
}

func scanAgent(row pgx.Row) (agentRow, error) {
	var a agentRow
	err := row.Scan(&a.ID, &a.TeamID, &a.Name, &a.BaseURL, &a.Version, &a.sealedCredential, &a.CredentialLast4,
		&a.Card, &a.CardVersion, &a.CardError, &a.CardFetchedAt, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// agentAD binds a sealed credential to its agent row, and keeps it apart
// from engine keys sealed under the same secret.
func agentAD(agentID string) []byte { return []byte("attach agent credential:" + agentID) }

// maxCardError bounds the stored reason of a failed card fetch.
const maxCardError = 1000

// CreateAgent registers an A2A agent for the team.
func (s *Store) CreateAgent(ctx context.Context, teamID string, in AgentInput) (attach.Agent, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Agent{}, err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return attach.Agent{}, err
	}
	var cred string
	if in.Credential != nil {
		cred = *in.Credential
	}
	sealed, last4, err := s.sealSecret("an agent credential", cred, agentAD(id))
	if err != nil {
		return attach.Agent{}, err
	}
	var a attach.Agent
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanAgent(tx.QueryRow(ctx,
			`INSERT INTO agents (id, team_id, name, base_url, version, credential_enc, credential_last4)
			 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+agentColumns,
			id, teamID, in.Name, in.BaseURL, in.Version, sealed, last4))
		if err != nil {
			return DBError("create agent", err)
		}
		a = row.Agent
		return audit(ctx, tx, agentAudit(AuditAgentCreate, a, keyChange(in.Credential, true)))
	})
	return a, err
}

// agentAudit is the audit row of a change to a. Of the credential it says
// only what happened to it ("set", "removed", "unchanged", "none").
func agentAudit(action string, a attach.Agent, credential string) AuditEntry {
	d := map[string]any{"name": a.Name, "base_url": a.BaseURL, "version": a.Version}
	if credential != "" {
		d["credential"] = credential
	}
	return AuditEntry{TeamID: a.TeamID, Action: action, TargetType: "agent", TargetID: a.ID, TargetName: a.Name, Detail: d}
}

// GetAgent finds one agent of the team. Its Credential is never filled
// here: only the Directory holds it in clear.
func (s *Store) GetAgent(ctx context.Context, teamID, id string) (attach.Agent, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Agent{}, attach.NotFound("agent")
	}
	row, err := scanAgent(s.pool.QueryRow(ctx,
		"SELECT "+agentColumns+" FROM agents WHERE team_id = $1 AND id = $2", teamID, id))
	return row.Agent, DBError("get agent", err)
}

// GetAgentByName finds the team's agent called name, as the team's A2A URL
// names it.
func (s *Store) GetAgentByName(ctx context.Context, teamID, name string) (attach.Agent, error) {
	if !attach.ValidID(teamID) || !attach.ValidSlug(name) {
		return attach.Agent{}, attach.NotFound("agent")
	}
	row, err := scanAgent(s.pool.QueryRow(ctx,
		"SELECT "+agentColumns+" FROM agents WHERE team_id = $1 AND name = $2", teamID, name))
	return row.Agent, DBError("get agent", err)
}

// ListAgents returns one page of the team's agents in creation order.
func (s *Store) ListAgents(ctx context.Context, teamID string, page Page) ([]attach.Agent, string, error) {
	scan := func(r pgx.Row) (attach.Agent, error) {
		row, err := scanAgent(r)
		return row.Agent, err
	}
	return listTeamRows(ctx, s, "agents", agentColumns, teamID, page, scan, func(a attach.Agent) string { return a.ID })
}

// UpdateAgent replaces an agent's settings. in.Credential nil keeps the
// stored credential, "" removes it. A new base URL forgets the card fetched
// from the old one.
func (s *Store) UpdateAgent(ctx context.Context, teamID, id string, in AgentInput) (attach.Agent, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.Agent{}, err
	}
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Agent{}, attach.NotFound("agent")
	}
	setCred := in.Credential != nil
	var sealed []byte
	var last4 string
	if setCred {
		if sealed, last4, err = s.sealSecret("an agent credential", *in.Credential, agentAD(id)); err != nil {
			return attach.Agent{}, err
		}
	}
	var a attach.Agent
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanAgent(tx.QueryRow(ctx,
			`UPDATE agents SET name = $3, version = $5,
			   card            = CASE WHEN base_url = $4 THEN card ELSE NULL END,
			   card_version    = CASE WHEN base_url = $4 THEN card_version ELSE '' END,
			   card_error      = CASE WHEN base_url = $4 THEN card_error ELSE '' END,
			   card_fetched_at = CASE WHEN base_url = $4 THEN card_fetched_at ELSE NULL END,
			   base_url = $4,
			   credential_enc   = CASE WHEN $6 THEN $7 ELSE credential_enc END,
			   credential_last4 = CASE WHEN $6 THEN $8 ELSE credential_last4 END,
			   updated_at = now()
			 WHERE team_id = $1 AND id = $2 RETURNING `+agentColumns,
			teamID, id, in.Name, in.BaseURL, in.Version, setCred, sealed, last4))
		if err != nil {
			return DBError("update agent", err)
		}
		a = row.Agent
		return audit(ctx, tx, agentAudit(AuditAgentUpdate, a, keyChange(in.Credential, false)))
	})
	return a, err
}

// DeleteAgent removes an agent. Its tasks stay, with its name.
func (s *Store) DeleteAgent(ctx context.Context, teamID, id string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.NotFound("agent")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanAgent(tx.QueryRow(ctx,
			"DELETE FROM agents WHERE team_id = $1 AND id = $2 RETURNING "+agentColumns, teamID, id))
		if err != nil {
			return DBError("delete agent", err)
		}
		return audit(ctx, tx, agentAudit(AuditAgentDelete, row.Agent, ""))
	})
}

// SetAgentCard records the outcome of fetching the agent's card. A fetch
// that worked (fetchErr "") stores card and the version read from it; one
// that failed stores why and keeps the last good card, whose version the
// gateway goes on speaking under "auto". Either way the time is noted.
// The agent's updated_at, which says when its settings changed, stays.
func (s *Store) SetAgentCard(ctx context.Context, teamID, id string, card []byte, version, fetchErr string) (attach.Agent, error) {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.Agent{}, attach.NotFound("agent")
	}
	ok := fetchErr == ""
	if ok {
		if len(card) == 0 {
			return attach.Agent{}, attach.Invalid("card", "is required when the fetch worked")
		}
		if version != attach.A2AVersion03 && version != attach.A2AVersion10 {
			return attach.Agent{}, attach.Invalid("card_version", "must be 0.3 or 1.0")
		}
	} else {
		card, version = nil, ""
		fetchErr = attach.CutUTF8(fetchErr, maxCardError)
	}
	row, err := scanAgent(s.pool.QueryRow(ctx,
		`UPDATE agents SET
		   card         = CASE WHEN $3 THEN $4::jsonb ELSE card END,
		   card_version = CASE WHEN $3 THEN $5 ELSE card_version END,
		   card_error = $6, card_fetched_at = $7
		 WHERE team_id = $1 AND id = $2 RETURNING `+agentColumns,
		teamID, id, ok, card, version, fetchErr, time.Now().UTC()))
	if err != nil {
		return attach.Agent{}, DBError("record agent card", err)
	}
	return row.Agent, nil
}

// sealSecret encrypts an upstream secret (what names it in errors) bound
// to ad; "" stores nothing.
func (s *Store) sealSecret(what, secret string, ad []byte) (sealed []byte, last4 string, err error) {
	if secret == "" {
		return nil, "", nil
	}
	if s.sealer == nil {
		return nil, "", fmt.Errorf("cannot store %s: no secret key is configured", what)
	}
	sealed, err = s.sealer.Seal([]byte(secret), ad)
	if err != nil {
		return nil, "", fmt.Errorf("seal %s: %w", what, err)
	}
	return sealed, keyLast4(secret), nil
}
