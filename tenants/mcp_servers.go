package tenants

import (
	"context"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// MCPServerInput is what a caller may set on an MCP server.
type MCPServerInput struct {
	// Name is a slug: the server's segment of /t/{team}/mcp/{name}.
	Name string `json:"name"`
	// URL is the server's Streamable HTTP endpoint.
	URL string `json:"url"`
	// Credential is the secret sent to the server as a Bearer token. On
	// update nil keeps the stored one and "" clears it; on create both mean
	// none.
	Credential *string `json:"credential"`
}

func (in MCPServerInput) normalize() (MCPServerInput, error) {
	if !attach.ValidMCPServerName(in.Name) {
		return in, attach.Invalid("name", "must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit")
	}
	// The endpoint is called as written: MCP servers serve one path, and
	// a trailing slash may be part of it.
	if err := checkHTTPURL("url", in.URL); err != nil {
		return in, err
	}
	if len(in.URL) > 2000 {
		return in, attach.Invalid("url", "must be at most 2000 bytes")
	}
	if in.Credential != nil {
		c := strings.TrimSpace(*in.Credential)
		if len(c) > 4096 {
			return in, attach.Invalid("credential", "must be at most 4096 bytes")
		}
		if strings.IndexFunc(c, unicode.IsControl) >= 0 {
			return in, attach.Invalid("credential", "cannot contain control characters")
		}
		in.Credential = &c
	}
	return in, nil
}

const mcpServerColumns = "id, team_id, name, url, credential_enc, created_at, updated_at"

// mcpServerRow is an MCP server as stored: the sealed credential beside
// the public fields.
type mcpServerRow struct {
	attach.MCPServer
	sealedCredential []byte
}

func scanMCPServer(row pgx.Row) (mcpServerRow, error) {
	var m mcpServerRow
	err := row.Scan(&m.ID, &m.TeamID, &m.Name, &m.URL, &m.sealedCredential, &m.CreatedAt, &m.UpdatedAt)
	m.HasCredential = m.sealedCredential != nil
	return m, err
}

// mcpServerAD binds a sealed credential to its server row, and keeps it
// apart from engine keys and agent credentials sealed under the same
// secret.
func mcpServerAD(serverID string) []byte { return []byte("attach mcp server credential:" + serverID) }

// CreateMCPServer registers an MCP server for the team.
func (s *Store) CreateMCPServer(ctx context.Context, teamID string, in MCPServerInput) (attach.MCPServer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.MCPServer{}, err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return attach.MCPServer{}, err
	}
	var cred string
	if in.Credential != nil {
		cred = *in.Credential
	}
	sealed, _, err := s.sealSecret("an MCP server credential", cred, mcpServerAD(id))
	if err != nil {
		return attach.MCPServer{}, err
	}
	var m attach.MCPServer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanMCPServer(tx.QueryRow(ctx,
			`INSERT INTO mcp_servers (id, team_id, name, url, credential_enc)
			 VALUES ($1, $2, $3, $4, $5) RETURNING `+mcpServerColumns,
			id, teamID, in.Name, in.URL, sealed))
		if err != nil {
			return DBError("create MCP server", err)
		}
		m = row.MCPServer
		return audit(ctx, tx, mcpServerAudit(AuditMCPServerCreate, m, keyChange(in.Credential, true)))
	})
	return m, err
}

// mcpServerAudit is the audit row of a change to m. Of the credential it
// says only what happened to it ("set", "removed", "unchanged", "none").
func mcpServerAudit(action string, m attach.MCPServer, credential string) AuditEntry {
	d := map[string]any{"name": m.Name, "url": m.URL}
	if credential != "" {
		d["credential"] = credential
	}
	return AuditEntry{TeamID: m.TeamID, Action: action, TargetType: "mcp_server", TargetID: m.ID, TargetName: m.Name, Detail: d}
}

// GetMCPServer finds the team's MCP server called name. Its Credential is
// never filled here: only the Directory holds it in clear.
func (s *Store) GetMCPServer(ctx context.Context, teamID, name string) (attach.MCPServer, error) {
	if !attach.ValidID(teamID) || !attach.ValidMCPServerName(name) {
		return attach.MCPServer{}, attach.NotFound("MCP server")
	}
	row, err := scanMCPServer(s.pool.QueryRow(ctx,
		"SELECT "+mcpServerColumns+" FROM mcp_servers WHERE team_id = $1 AND name = $2", teamID, name))
	return row.MCPServer, DBError("get MCP server", err)
}

// ListMCPServers returns one page of the team's MCP servers in creation
// order.
func (s *Store) ListMCPServers(ctx context.Context, teamID string, page Page) ([]attach.MCPServer, string, error) {
	scan := func(r pgx.Row) (attach.MCPServer, error) {
		row, err := scanMCPServer(r)
		return row.MCPServer, err
	}
	return listTeamRows(ctx, s, "mcp_servers", mcpServerColumns, teamID, page, scan, func(m attach.MCPServer) string { return m.ID })
}

// UpdateMCPServer replaces the settings of the team's server called name
// (in may rename it). in.Credential nil keeps the stored credential, ""
// removes it.
func (s *Store) UpdateMCPServer(ctx context.Context, teamID, name string, in MCPServerInput) (attach.MCPServer, error) {
	in, err := in.normalize()
	if err != nil {
		return attach.MCPServer{}, err
	}
	cur, err := s.GetMCPServer(ctx, teamID, name)
	if err != nil {
		return attach.MCPServer{}, err
	}
	setCred := in.Credential != nil
	var sealed []byte
	if setCred {
		if sealed, _, err = s.sealSecret("an MCP server credential", *in.Credential, mcpServerAD(cur.ID)); err != nil {
			return attach.MCPServer{}, err
		}
	}
	var m attach.MCPServer
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanMCPServer(tx.QueryRow(ctx,
			`UPDATE mcp_servers SET name = $3, url = $4,
			   credential_enc = CASE WHEN $5 THEN $6 ELSE credential_enc END,
			   updated_at = now()
			 WHERE team_id = $1 AND id = $2 RETURNING `+mcpServerColumns,
			teamID, cur.ID, in.Name, in.URL, setCred, sealed))
		if err != nil {
			return DBError("update MCP server", err)
		}
		m = row.MCPServer
		return audit(ctx, tx, mcpServerAudit(AuditMCPServerUpdate, m, keyChange(in.Credential, false)))
	})
	return m, err
}

// DeleteMCPServer removes the team's server called name. Its tool calls
// stay in memory.
func (s *Store) DeleteMCPServer(ctx context.Context, teamID, name string) error {
	if !attach.ValidID(teamID) || !attach.ValidMCPServerName(name) {
		return attach.NotFound("MCP server")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		row, err := scanMCPServer(tx.QueryRow(ctx,
			"DELETE FROM mcp_servers WHERE team_id = $1 AND name = $2 RETURNING "+mcpServerColumns, teamID, name))
		if err != nil {
			return DBError("delete MCP server", err)
		}
		return audit(ctx, tx, mcpServerAudit(AuditMCPServerDelete, row.MCPServer, ""))
	})
}
