package console

import (
	"context"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The team's MCP servers: the servers its MCP clients reach through the
// gateway at /t/TEAM/mcp/NAME, the gateway standing in front of each as the
// OAuth resource server. A server is addressed by its name, which is part
// of the URL clients were given, so the pages never rename one.

// MCPServerStore keeps a team's MCP servers. Its writes validate the input
// (the same rules as the admin API), seal the credential and write the
// audit row in one transaction; a server it returns never holds the
// credential, only whether one is stored. *tenants.Store is one.
type MCPServerStore interface {
	ListMCPServers(ctx context.Context, teamID string, page tenants.Page) ([]attach.MCPServer, string, error)
	GetMCPServer(ctx context.Context, teamID, name string) (attach.MCPServer, error)
	CreateMCPServer(ctx context.Context, teamID string, in tenants.MCPServerInput) (attach.MCPServer, error)
	UpdateMCPServer(ctx context.Context, teamID, name string, in tenants.MCPServerInput) (attach.MCPServer, error)
	DeleteMCPServer(ctx context.Context, teamID, name string) error
}

func (c *Console) mcpServersPage(fc *fiber.Ctx) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.mcp.ListMCPServers(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list MCP servers", err)
	}
	v := mcpServersView{Next: next, Paged: page.After != "", CanEdit: t.role.CanManageTeam()}
	for _, m := range list {
		v.Servers = append(v.Servers, c.mcpRow(t.team.Slug, m))
	}
	return render(fc, fiber.StatusOK, mcpServersPage(c.teamChrome(fc, "MCP servers", "mcp"), v))
}

// mcpRow is a server with the addresses the gateway serves it at.
func (c *Console) mcpRow(slug string, m attach.MCPServer) mcpServerRow {
	return mcpServerRow{MCPServer: m, GatewayURL: c.mcpGatewayURL(slug, m.Name), MetadataURL: c.mcpMetadataURL(slug, m.Name)}
}

// mcpGatewayURL is where the team's MCP clients connect to the server; it
// is also the audience (RFC 8707) their tokens must name.
func (c *Console) mcpGatewayURL(slug, name string) string {
	return c.cfg.PublicURL + "/t/" + url.PathEscape(slug) + "/mcp/" + url.PathEscape(name)
}

// mcpMetadataURL is the server's protected resource metadata (RFC 9728),
// which the gateway's 401 answers point clients to.
func (c *Console) mcpMetadataURL(slug, name string) string {
	return c.cfg.PublicURL + "/.well-known/oauth-protected-resource/t/" + url.PathEscape(slug) + "/mcp/" + url.PathEscape(name)
}

func (c *Console) newMCPServerPage(fc *fiber.Ctx) error {
	return c.renderMCPForm(fc, fiber.StatusOK, mcpFormView{})
}

func (c *Console) renderMCPForm(fc *fiber.Ctx, status int, v mcpFormView) error {
	title := "Register MCP server"
	if v.Server != nil {
		title = "MCP server " + v.Server.Name
	}
	return render(fc, status, mcpFormPage(c.teamChrome(fc, title, "mcp"), v))
}

// mcpForm reads the MCP server form. The credential goes into the input
// only when one was typed (or removal was asked for), so an empty field on
// edit keeps the stored one. A typed credential is never put back in the
// page: the view only says it must be typed again.
func mcpForm(fc *fiber.Ctx) (tenants.MCPServerInput, mcpFormView) {
	in := tenants.MCPServerInput{Name: form(fc, "name"), URL: form(fc, "url")}
	if cred := strings.TrimSpace(fc.FormValue("credential")); cred != "" {
		in.Credential = &cred
	} else if checked(fc, "clear_credential") {
		none := ""
		in.Credential = &none
	}
	v := mcpFormView{
		Name: in.Name, URL: in.URL,
		CredentialLost: in.Credential != nil && *in.Credential != "",
	}
	return in, v
}

// checkMCPServer finds every field of the MCP server form the gateway
// would refuse.
func (c *Console) checkMCPServer(ctx context.Context, in tenants.MCPServerInput) formErrors {
	fe := formErrors{}.merge(c.checkURL(ctx, "url", in.URL))
	return fe.merge(checkAll(in, tenants.MCPServerInput.Check, map[string]func(*tenants.MCPServerInput){
		"name":       func(in *tenants.MCPServerInput) { in.Name = "server" },
		"url":        func(in *tenants.MCPServerInput) { in.URL = "http://mcp.invalid/mcp" },
		"credential": func(in *tenants.MCPServerInput) { in.Credential = nil },
	})).orNil()
}

func (c *Console) createMCPServer(fc *fiber.Ctx) error {
	t := current(fc)
	in, v := mcpForm(fc)
	// The network policy is asked first, as the admin API does: nothing
	// is stored for a URL the gateway may not call.
	if fe := c.checkMCPServer(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderMCPForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.mcp.CreateMCPServer(c.actor(fc), t.team.ID, in); err != nil {
		return c.mcpSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/mcp?done=mcp-server-created"))
}

func (c *Console) mcpSaveFailed(fc *fiber.Ctx, v mcpFormView, err error) error {
	if fe, status, ok := saveRefused(err, "name", "The team has an MCP server with this name already"); ok {
		v.Errors = fe
		return c.renderMCPForm(fc, status, v)
	}
	return c.storeFail(fc, "save MCP server", err)
}

// mcpServer finds the team's server named in the path; an unknown one is
// the console's 404.
func (c *Console) mcpServer(fc *fiber.Ctx) (attach.MCPServer, error) {
	return c.mcp.GetMCPServer(fc.UserContext(), current(fc).team.ID, fc.Params("name"))
}

func (c *Console) mcpServerPage(fc *fiber.Ctx) error {
	m, err := c.mcpServer(fc)
	if err != nil {
		return c.storeFail(fc, "get MCP server", err)
	}
	return c.renderMCPForm(fc, fiber.StatusOK, c.mcpView(fc, m))
}

func (c *Console) mcpView(fc *fiber.Ctx, m attach.MCPServer) mcpFormView {
	row := c.mcpRow(current(fc).team.Slug, m)
	return mcpFormView{Server: &row, Name: m.Name, URL: m.URL}
}

// updateMCPServer changes the URL and the credential. The name stays: it
// is part of the URL the team's clients were given.
func (c *Console) updateMCPServer(fc *fiber.Ctx) error {
	t := current(fc)
	cur, err := c.mcpServer(fc)
	if err != nil {
		return c.storeFail(fc, "get MCP server", err)
	}
	in, v := mcpForm(fc)
	in.Name = cur.Name
	base := c.mcpView(fc, cur)
	v.Server, v.Name = base.Server, cur.Name
	if fe := c.checkMCPServer(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderMCPForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.mcp.UpdateMCPServer(c.actor(fc), t.team.ID, cur.Name, in); err != nil {
		return c.mcpSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/mcp?done=mcp-server-saved"))
}

func (c *Console) deleteMCPServer(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.mcp.DeleteMCPServer(c.actor(fc), t.team.ID, fc.Params("name")); err != nil {
		return c.storeFail(fc, "delete MCP server", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/mcp?done=mcp-server-deleted"))
}

// mcpPath is the console path of one of the team's servers.
func mcpPath(slug, name, rest string) string {
	return teamURL(slug, "/mcp/"+url.PathEscape(name)+rest)
}
