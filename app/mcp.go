package app

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/mcp"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
	"github.com/attach-dev/attach-gateway/web"
)

// newMCP makes the relay to the teams' MCP servers. Its client dials
// through the network policy, follows no redirects (they would carry the
// server's credential elsewhere) and has no overall timeout: streams last
// as long as their server keeps them open.
func (a *App) newMCP(policy *netguard.Policy) *mcp.Relay {
	transport := &http.Transport{
		DialContext:           policy.Dialer(10 * time.Second).DialContext,
		ResponseHeaderTimeout: a.cfg.UpstreamTimeout,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		Proxy:                 nil, // servers are reached as registered
	}
	return mcp.NewRelay(mcp.Config{
		Client:         &http.Client{Transport: transport, CheckRedirect: noRedirects},
		Memory:         a.mem.recorder,
		Logger:         a.log,
		Via:            "1.1 " + a.via,
		MaxAnswerBytes: a.cfg.MaxBodyBytes,
	})
}

// mcpRoutes serves the teams' MCP servers at /t/{team}/mcp/{server}, and
// each one's protected resource metadata (RFC 9728) at the well-known path
// the MCP authorization spec derives from that URL.
func (a *App) mcpRoutes(f *fiber.App) {
	f.Get("/.well-known/oauth-protected-resource/t/:team/mcp/:server", a.mcpResourceMetadata)
	f.All("/t/:team/mcp/:server", a.mcpCall)
}

// mcpResourceURL is the URL of a team's MCP server at the gateway: where
// clients connect, and the audience (RFC 8707) their tokens must name.
func (a *App) mcpResourceURL(team *tenants.Snapshot, server string) string {
	return a.mcpServerURL(team.Team.Slug, server)
}

// mcpMetadataURL is where the server's protected resource metadata is.
func (a *App) mcpMetadataURL(team *tenants.Snapshot, server string) string {
	return a.cfg.PublicURL + "/.well-known/oauth-protected-resource" + a.mcpResourceURL(team, server)[len(a.cfg.PublicURL):]
}

// teamMCPServer finds the team (without verifying anyone) and its server;
// either unknown is a 404.
func (a *App) teamMCPServer(c *fiber.Ctx) (*tenants.Snapshot, attach.MCPServer, error) {
	team, err := a.lookupTeam(c, true)
	if err != nil {
		return nil, attach.MCPServer{}, err
	}
	name := c.Params("server")
	srv, ok := team.MCPServer(name)
	if !ok {
		return nil, attach.MCPServer{}, &attach.Error{Code: attach.CodeNotFound, Reason: "unknown_mcp_server",
			Message: "no MCP server named " + strconv.Quote(name) + " in this team"}
	}
	return team, srv, nil
}

// protectedResource is RFC 9728's metadata document.
type protectedResource struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

// mcpResourceMetadata tells an MCP client where to get a token for the
// server: from one of the team's identity providers, for the server's URL
// at the gateway as resource. It is public, as discovery needs.
func (a *App) mcpResourceMetadata(c *fiber.Ctx) error {
	team, srv, err := a.teamMCPServer(c)
	if err != nil {
		return err
	}
	issuers := make([]string, 0, len(team.Issuers))
	for _, iss := range team.Issuers {
		issuers = append(issuers, iss.URL)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(protectedResource{
		Resource:               a.mcpResourceURL(team, srv.Name),
		AuthorizationServers:   issuers,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "MCP server " + srv.Name + " of team " + team.Team.Slug,
	})
}

// mcpCall relays one request of the Streamable HTTP transport: POST a
// message, GET the server's stream, DELETE the session. The caller's token
// must be for this server's URL (or be a key of the team); it is never
// passed on.
func (a *App) mcpCall(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodGet, fiber.MethodDelete:
	default:
		c.Set(fiber.HeaderAllow, "GET, POST, DELETE")
		return attach.Errorf(attach.CodeMethodNotAllowed, "an MCP server takes POST, GET and DELETE")
	}
	team, srv, err := a.teamMCPServer(c)
	if err != nil {
		return err
	}
	p, err := a.verify.VerifyResource(c.UserContext(), team, bearerToken(c), a.mcpResourceURL(team, srv.Name))
	if err != nil {
		refusal := identity.AsError(err)
		a.metrics.authFailures.WithLabelValues(refusal.Reason).Inc()
		// The challenge names the metadata, where the client learns which
		// issuers to get a token from (RFC 9728 §5.1).
		c.Set(fiber.HeaderWWWAuthenticate, web.Challenge("attach", refusal)+
			`, resource_metadata="`+a.mcpMetadataURL(team, srv.Name)+`"`)
		return refusal
	}
	c.Locals(localUser, p.Subject)
	now := time.Now()
	if p.KeyID != "" {
		a.usage.record(p.KeyID, now)
	}
	a.callers.record(p, now) // MCP callers count on the Callers page too
	if c.Method() == fiber.MethodPost {
		if err := a.bodies.Read(c, a.cfg.MaxBodyBytes); err != nil {
			return err
		}
	}
	session, err := a.sessionOf(c, team.Team.ID, p.Subject)
	if err != nil {
		return err
	}
	header := http.Header{}
	for k, v := range c.Request().Header.All() {
		header.Add(string(k), string(v))
	}
	call := mcp.Call{
		Server: srv, Method: c.Method(), Header: header,
		// The relay may outlive the handler (streams): its own copy.
		Body: append([]byte(nil), c.Body()...),
		Caller: mcp.Caller{
			TeamID: team.Team.ID, TeamSlug: team.Team.Slug, User: p.Subject,
			Session: session, RequestID: requestID(c),
		},
	}
	// Not the request's context: a stream is copied after the handler
	// returns, and ends when the client or the server leaves.
	ans, err := a.mcp.Open(context.Background(), call)
	if err != nil {
		return err
	}
	c.Status(ans.Status)
	if ans.Header.Get(fiber.HeaderContentType) == "" {
		c.Response().Header.SetNoDefaultContentType(true)
	}
	for k, vs := range ans.Header {
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	if !ans.Stream {
		body, err := a.mcp.ReadAll(ans)
		if err != nil {
			return err
		}
		return c.Send(body)
	}
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		_ = a.mcp.Copy(ans, w, w.Flush) // a client that left, or a server that ended, ends the copy
	})
	return nil
}
