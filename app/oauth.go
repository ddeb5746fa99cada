package app

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// maxTokenRequestBody bounds a token request: two tokens and a few names.
const maxTokenRequestBody = 64 << 10

// oauthRoutes serve the gateway's token endpoint (RFC 8693 token exchange)
// per team, and its RFC 8414 metadata.
func (a *App) oauthRoutes(f *fiber.App) {
	f.Post("/t/:team/oauth/token", a.tokenEndpoint(true))
	f.Post("/oauth/token", a.tokenEndpoint(false))
	f.Get("/.well-known/oauth-authorization-server/t/:team", a.oauthMetadata(true))
	f.Get("/.well-known/oauth-authorization-server", a.oauthMetadata(false))
}

// tokenResponse is RFC 8693 §2.2.1's answer.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
}

// tokenEndpoint exchanges a token the team accepts (an OIDC or DID token,
// an API key, a delegation token) for a gateway-signed token bound to one
// audience of the team, with the caller's scopes or fewer. The subject
// token is the credential: there is no client authentication.
func (a *App) tokenEndpoint(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, err := a.lookupTeam(c, byParam)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderPragma, "no-cache")
		if err := a.bodies.Read(c, maxTokenRequestBody); err != nil {
			return err
		}
		req, oerr := parseTokenRequest(c.Get(fiber.HeaderContentType), c.Body())
		if oerr == nil {
			var resp tokenResponse
			resp, oerr = a.exchangeToken(c.UserContext(), team, req)
			if oerr == nil {
				return c.JSON(resp)
			}
		}
		a.metrics.authFailures.WithLabelValues("exchange_" + oerr.Code).Inc()
		return c.Status(fiber.StatusBadRequest).JSON(oerr)
	}
}

// exchangeToken verifies the subject token for the team, checks the target
// and the scopes, and mints the exchanged token.
func (a *App) exchangeToken(ctx context.Context, team *tenants.Snapshot, req tokenRequest) (tokenResponse, *oauthError) {
	if req.SubjectTokenType == tokenTypeJWT && attach.LooksLikeAPIKey(req.SubjectToken) {
		return tokenResponse{}, oauthErr(oauthInvalidRequest, "an API key is not a JWT: send it with subject_token_type "+tokenTypeAccessToken)
	}
	p, err := a.verify.Verify(ctx, team, req.SubjectToken)
	if err != nil {
		refusal := identity.AsError(err)
		return tokenResponse{}, oauthErr(oauthInvalidGrant, "subject_token refused ("+refusal.Reason+"): "+refusal.Message)
	}
	if p.Method == identity.MethodConsole {
		// A console token is held to its session on every call; a token
		// exchanged for it would not be.
		return tokenResponse{}, oauthErr(oauthInvalidGrant, "a console token cannot be exchanged: use an API key or your identity provider's token")
	}
	if p.Method == attach.MethodExchange {
		// Its audience was chosen once; a second exchange could move it.
		return tokenResponse{}, oauthErr(oauthInvalidGrant, "a token issued by this endpoint cannot be exchanged again")
	}
	// The target is checked only for a verified caller, so that nobody
	// else learns the team's agent and server names from the answers.
	audience, oerr := a.exchangeTarget(team, req.Target)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	scopes := p.Scopes
	if req.Scopes != nil {
		for _, s := range req.Scopes {
			if !slices.Contains(p.Scopes, s) {
				return tokenResponse{}, oauthErr(oauthInvalidScope, "scope "+strconv.Quote(s)+" is not among the subject token's scopes")
			}
		}
		scopes = slices.Compact(slices.Sorted(slices.Values(req.Scopes)))
	}
	x := identity.Exchange{
		TeamID: team.Team.ID, TeamSlug: team.Team.Slug,
		Subject: p.Subject, Audience: audience, Scopes: scopes, ClientID: p.ClientID,
		ExpiresAt: p.ExpiresAt, // zero (no expiry) means the default lifetime
	}
	if p.Method == identity.MethodDelegation {
		x.Actor, x.Session, x.Task, x.Depth = p.Actor, p.Session, p.Task, p.Depth
	}
	if !x.ExpiresAt.IsZero() && x.ExpiresAt.After(time.Now().Add(identity.ExchangeTTL)) {
		x.ExpiresAt = time.Time{}
	}
	tok, exp, err := a.exchanger.Mint(x)
	if err != nil {
		return tokenResponse{}, oauthErr(oauthInvalidGrant, "the subject token expires too soon to be exchanged")
	}
	return tokenResponse{
		AccessToken:     tok,
		IssuedTokenType: req.RequestedTokenType,
		TokenType:       "Bearer",
		ExpiresIn:       max(int64(time.Until(exp).Seconds()), 1),
		Scope:           strings.Join(scopes, " "),
	}, nil
}

// exchangeTarget is the audience an exchanged token for target gets: the
// team's gateway URL, one of its agents, or one of its MCP servers. Any
// other URL, another team's above all, is invalid_target.
func (a *App) exchangeTarget(team *tenants.Snapshot, target string) (string, *oauthError) {
	base := a.exchanger.TeamAudience(team.Team.Slug)
	rest, ok := strings.CutPrefix(target, base)
	if !ok || (rest != "" && rest[0] != '/') {
		if strings.HasPrefix(target, a.exchanger.Issuer()+"/t/") {
			return "", oauthErr(oauthInvalidTarget, "the audience belongs to another team; exchange at that team's token endpoint")
		}
		return "", oauthErr(oauthInvalidTarget, "the audience must be "+base+", one of its agents ("+base+"/a2a/NAME) or MCP servers ("+base+"/mcp/NAME)")
	}
	if rest == "" || rest == "/" {
		return base, nil
	}
	if name, ok := strings.CutPrefix(rest, "/a2a/"); ok {
		if _, found := team.Agent(name); found {
			return a.exchanger.AgentAudience(team.Team.Slug, name), nil
		}
		return "", oauthErr(oauthInvalidTarget, "the team has no agent named "+strconv.Quote(name))
	}
	if name, ok := strings.CutPrefix(rest, "/mcp/"); ok {
		if _, found := team.MCPServer(name); found {
			return a.exchanger.MCPAudience(team.Team.Slug, name), nil
		}
		return "", oauthErr(oauthInvalidTarget, "the team has no MCP server named "+strconv.Quote(name))
	}
	return "", oauthErr(oauthInvalidTarget, "the audience must be "+base+", one of its agents or MCP servers")
}

// checkAudience refuses an exchanged token on a route that is not its
// audience: one for the team's gateway URL is good on every route of the
// team that authenticates; one for an agent only on that agent's route;
// one for an MCP server never here (it verifies with VerifyResource).
func (a *App) checkAudience(c *fiber.Ctx, team *tenants.Snapshot, p attach.Principal) error {
	if p.Audience == "" || p.Audience == a.exchanger.TeamAudience(team.Team.Slug) {
		return nil
	}
	if agent := c.Params("agent"); agent != "" && p.Audience == a.exchanger.AgentAudience(team.Team.Slug, agent) {
		return nil
	}
	a.metrics.authFailures.WithLabelValues(identity.ReasonWrongAudience).Inc()
	return &attach.Error{Code: attach.CodeInvalidToken, Reason: identity.ReasonWrongAudience,
		Message: "the token was issued for " + strconv.Quote(p.Audience) + ", not for this route"}
}

// oauthMetadata is the RFC 8414 description of a team's token endpoint.
// Its issuer is the iss of the tokens the endpoint issues: the gateway's
// public URL, the same for every team.
func (a *App) oauthMetadata(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, err := a.lookupTeam(c, byParam)
		if err != nil {
			return err
		}
		endpoint := a.exchanger.Issuer() + "/oauth/token"
		if byParam {
			endpoint = a.exchanger.TeamAudience(team.Team.Slug) + "/oauth/token"
		}
		b, err := json.Marshal(map[string]any{
			"issuer":                                a.exchanger.Issuer(),
			"token_endpoint":                        endpoint,
			"jwks_uri":                              a.exchanger.Issuer() + "/.well-known/jwks.json",
			"grant_types_supported":                 []string{grantTokenExchange},
			"response_types_supported":              []string{},
			"token_endpoint_auth_methods_supported": []string{"none"},
			"scopes_supported":                      attach.KeyScopes,
		})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.Send(b)
	}
}
