package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// newA2A makes the relay to the teams' agents. Its client dials through
// the network policy and has no overall timeout: the relay bounds each
// call itself, and streams last as long as their agent keeps talking.
func (a *App) newA2A(policy *netguard.Policy) *a2a.Relay {
	transport := &http.Transport{
		DialContext:           policy.Dialer(10 * time.Second).DialContext,
		ResponseHeaderTimeout: a.cfg.UpstreamTimeout,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		// Agents are reached as registered: no proxy from the environment.
		Proxy: nil,
	}
	return a2a.NewRelay(a2a.Config{
		Store:             a2a.NewStore(a.pool),
		Client:            &http.Client{Transport: transport, CheckRedirect: noRedirects},
		Memory:            a.mem.recorder,
		Tokens:            delegationMinter{a.delegator},
		Logger:            a.log,
		CallTimeout:       a.cfg.UpstreamTimeout,
		StreamIdleTimeout: a.cfg.StreamIdleTimeout,
		MaxAnswerBytes:    int64(a.cfg.MaxBodyBytes),
		Via:               "1.1 " + a.via,
	})
}

// noRedirects keeps the relay at the agent's registered address: a
// redirect would carry the agent's credential and the user's identity
// elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// directoryTeams finds agents for the relay's reconciler.
type directoryTeams struct{ dir *tenants.Directory }

func (d directoryTeams) TeamAgent(teamID, name string) (string, attach.Agent, bool) {
	team, ok := d.dir.TeamByID(teamID)
	if !ok {
		return "", attach.Agent{}, false
	}
	agent, ok := team.Agent(name)
	return team.Team.Slug, agent, ok
}

// delegationMinter signs an agent's delegation token: the caller's user and
// session, the agent as actor, one hop deeper.
type delegationMinter struct{ d *identity.Delegator }

func (m delegationMinter) MintDelegation(c a2a.Caller, agent, task string) (string, error) {
	tok, _, err := m.d.Mint(identity.Delegation{
		TeamID: c.TeamID, TeamSlug: c.TeamSlug, User: c.User, Session: c.Session,
		Actor: agent, Task: task, Depth: c.Depth + 1,
	})
	return tok, err
}

// jwks publishes the keys delegation and exchanged tokens are signed with, for agents
// and services that check them themselves.
func (a *App) jwks(c *fiber.Ctx) error {
	set, err := a.delegator.JWKS()
	if err != nil {
		return err
	}
	// Exchanged tokens (oauth.go) are the gateway's too.
	keys, err := a.exchanger.Keys()
	if err != nil {
		return err
	}
	set.Keys = append(set.Keys, keys...)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(set)
}

// a2aRoutes serves the team's agents at /t/{team}/a2a/... and the default
// team's at /a2a/....
func (a *App) a2aRoutes(f *fiber.App) {
	f.Get("/.well-known/jwks.json", a.jwks)
	for _, byParam := range []bool{false, true} {
		prefix := "/a2a"
		if byParam {
			prefix = "/t/:team/a2a"
		}
		f.Get(prefix+"/agents", a.a2aDirectory(byParam))
		f.Get(prefix+"/:agent/.well-known/agent-card.json", a.a2aCard(byParam))
		f.Get(prefix+"/:agent/.well-known/agent.json", a.a2aCard(byParam))
		f.Post(prefix+"/:agent", a.a2aCall(byParam))
	}
}

// agentURL is where clients reach a team's agent through the gateway.
func (a *App) agentURL(team *tenants.Snapshot, name string) string {
	if team.Team.Slug == a.cfg.DefaultTeam {
		return a.cfg.PublicURL + "/a2a/" + name
	}
	return a.cfg.PublicURL + "/t/" + team.Team.Slug + "/a2a/" + name
}

// teamAgent finds the team (without verifying anyone) and its agent.
func (a *App) teamAgent(c *fiber.Ctx, byParam bool) (*tenants.Snapshot, attach.Agent, error) {
	team, err := a.lookupTeam(c, byParam)
	if err != nil {
		return nil, attach.Agent{}, err
	}
	agent, err := agentNamed(team, c.Params("agent"))
	return team, agent, err
}

// agentNamed is the team's agent of that name; none is 404 unknown_agent.
func agentNamed(team *tenants.Snapshot, name string) (attach.Agent, error) {
	agent, ok := team.Agent(name)
	if !ok {
		return attach.Agent{}, &attach.Error{Code: attach.CodeNotFound, Reason: "unknown_agent",
			Message: "no agent named " + strconv.Quote(name) + " in this team"}
	}
	return agent, nil
}

// a2aCard publishes an agent's card with the gateway as its endpoint. It
// is public, as A2A discovery expects; the shape follows the A2A-Version
// the client asked for (0.3 when it names none).
func (a *App) a2aCard(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, agent, err := a.teamAgent(c, byParam)
		if err != nil {
			return err
		}
		version, ok := a2a.ParseVersion(c.Get("A2A-Version"))
		if !ok {
			version = "1.0"
		}
		issuers := make([]string, 0, len(team.Issuers))
		for _, iss := range team.Issuers {
			issuers = append(issuers, iss.URL)
		}
		card, err := a2a.PublishCard(agent.Card, agent.Name, a2a.Publication{
			Endpoint: a.agentURL(team, agent.Name), Issuers: issuers, Version: version,
		})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		c.Set(fiber.HeaderCacheControl, "public, max-age=60")
		return c.Send(card)
	}
}

// agentEntry is one agent of the team's directory.
type agentEntry struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	CardURL     string   `json:"card_url"`
	Version     string   `json:"version"`
	Description string   `json:"description,omitempty"`
	Skills      []string `json:"skills"`
}

// a2aDirectory lists the team's agents for a signed-in caller.
func (a *App) a2aDirectory(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, _, _, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		out := make([]agentEntry, 0, len(team.Agents))
		for _, ag := range team.Agents {
			e := agentEntry{Name: ag.Name, URL: a.agentURL(team, ag.Name), Version: ag.SpokenVersion(), Skills: []string{}}
			e.CardURL = e.URL + "/.well-known/agent-card.json"
			var card struct {
				Description string `json:"description"`
				Skills      []struct {
					Name string `json:"name"`
				} `json:"skills"`
			}
			if json.Unmarshal(ag.Card, &card) == nil {
				e.Description = card.Description
				for _, s := range card.Skills {
					e.Skills = append(e.Skills, s.Name)
				}
			}
			out = append(out, e)
		}
		return c.JSON(fiber.Map{"agents": out})
	}
}

// a2aCall relays one JSON-RPC request to the team's agent. Protocol
// errors are JSON-RPC errors with HTTP 200, as A2A says; only what comes
// before the protocol (an unknown team or agent, a refused token, a body
// over the limit) gets an HTTP status.
func (a *App) a2aCall(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, session, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		agent, err := agentNamed(team, c.Params("agent"))
		if err != nil {
			return err
		}
		if err := a.bodies.Read(c, a.cfg.MaxBodyBytes); err != nil {
			return err
		}
		// The relay may outlive the handler (streams): it gets its own
		// copy of the body, never Fiber's buffer.
		req, rerr := a2a.ParseRequest(bytes.Clone(c.Body()))
		if rerr != nil {
			return c.JSON(a2a.Response{JSONRPC: "2.0", ID: req.ID, Error: rerr})
		}
		version, ok := a2a.ParseVersion(c.Get("A2A-Version"))
		if !ok {
			return c.JSON(a2a.Response{JSONRPC: "2.0", ID: req.ID, Error: &a2a.RPCError{
				Code: a2a.CodeVersionNotSupported, Message: "A2A version " + strconv.Quote(c.Get("A2A-Version")) + " is not supported; use 0.3 or 1.0"}})
		}
		method, ok := a2a.MethodOf(version, req.Method)
		if !ok {
			return c.JSON(a2a.Response{JSONRPC: "2.0", ID: req.ID, Error: &a2a.RPCError{
				Code: a2a.CodeMethodNotFound, Message: "method not found: " + req.Method}})
		}
		call := a2a.Call{
			Agent: agent, Version: version, Method: method, Request: req,
			Caller: a2a.Caller{
				TeamID: team.Team.ID, TeamSlug: team.Team.Slug, User: p.Subject, Session: session,
				ParentTask: p.Task, Depth: p.Depth, RequestID: requestID(c),
			},
		}
		c.Set("X-Attach-Session-Id", session)
		if method != a2a.MethodStream && method != a2a.MethodSubscribe {
			return c.JSON(a.a2a.Do(c.UserContext(), call))
		}
		c.Set(fiber.HeaderContentType, "text/event-stream")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set("X-Accel-Buffering", "no")
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			// Not the request's context: a client that leaves must not
			// stop the relay from recording the rest of the task.
			a.a2a.Stream(context.Background(), call, func(resp a2a.Response) error {
				b, err := json.Marshal(resp)
				if err != nil {
					return err
				}
				w.WriteString("data: ")
				w.Write(b)
				w.WriteString("\n\n")
				return w.Flush()
			})
		})
		return nil
	}
}
