package app

import (
	"context"
	"net/url"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The management API's MCP servers, /admin/v1/teams/{team}/mcp-servers,
// addressed by name. A credential is write-only: answers say only whether
// one is stored.
func (a *App) mcpServerRoutes(r fiber.Router) {
	const path = "/teams/:team/mcp-servers"
	r.Get(path, a.listMCPServers)
	r.Post(path, a.createMCPServer)
	r.Get(path+"/:name", a.getMCPServer)
	r.Put(path+"/:name", a.putMCPServer)
	r.Delete(path+"/:name", a.deleteMCPServer)
}

// mcpServerJSON is an MCP server as the API shows it, with the URL at which
// the team's MCP clients reach it.
type mcpServerJSON struct {
	attach.MCPServer
	GatewayURL string `json:"gateway_url"`
}

func (a *App) mcpServerJSON(teamSlug string, m attach.MCPServer) mcpServerJSON {
	return mcpServerJSON{MCPServer: m, GatewayURL: a.mcpServerURL(teamSlug, m.Name)}
}

// mcpServerURL is where clients reach a team's MCP server through the
// gateway; it is also the resource its tokens must name as audience.
func (a *App) mcpServerURL(teamSlug, name string) string {
	return a.cfg.PublicURL + "/t/" + url.PathEscape(teamSlug) + "/mcp/" + url.PathEscape(name)
}

func (a *App) listMCPServers(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	list, next, err := a.store.ListMCPServers(c.UserContext(), team, page)
	items := make([]mcpServerJSON, 0, len(list))
	for _, m := range list {
		items = append(items, a.mcpServerJSON(c.Params("team"), m))
	}
	return listResponse(c, items, next, err)
}

func (a *App) createMCPServer(c *fiber.Ctx) error {
	team, in, err := a.mcpServerInput(c)
	if err != nil {
		return err
	}
	m, err := a.store.CreateMCPServer(c.UserContext(), team, in)
	if err != nil {
		return storeError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(a.mcpServerJSON(c.Params("team"), m))
}

func (a *App) getMCPServer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	m, err := a.store.GetMCPServer(c.UserContext(), team, c.Params("name"))
	return a.mcpServerFound(c, m, err)
}

// putMCPServer replaces the server's settings (a new name renames it); a
// credential left out is kept, "" removes it.
func (a *App) putMCPServer(c *fiber.Ctx) error {
	team, in, err := a.mcpServerInput(c)
	if err != nil {
		return err
	}
	m, err := a.store.UpdateMCPServer(c.UserContext(), team, c.Params("name"), in)
	return a.mcpServerFound(c, m, err)
}

func (a *App) deleteMCPServer(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	return deleted(c, a.store.DeleteMCPServer(c.UserContext(), team, c.Params("name")))
}

// mcpServerInput resolves the team, decodes the server and refuses a URL
// the gateway may not call, as for engines and agents.
func (a *App) mcpServerInput(c *fiber.Ctx) (string, tenants.MCPServerInput, error) {
	team, in, err := teamAndInput[tenants.MCPServerInput](a, c)
	if err == nil {
		err = a.checkMCPURL(c.UserContext(), in.URL)
	}
	return team, in, err
}

func (a *App) checkMCPURL(ctx context.Context, raw string) error {
	return a.checkURL(ctx, "url", raw)
}

func (a *App) mcpServerFound(c *fiber.Ctx, m attach.MCPServer, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(a.mcpServerJSON(c.Params("team"), m))
}
