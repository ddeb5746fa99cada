package app

import (
	"encoding/json"
	"net/url"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The management API's A2A agents, /admin/v1/teams/{team}/agents. Saving an
// agent also fetches its card; a card that cannot be fetched is recorded in
// the agent's card_error and does not fail the save, since an agent may be
// registered before it is up.
func (a *App) agentRoutes(r fiber.Router) {
	const path = "/teams/:team/agents"
	r.Get(path, a.listAgents)
	r.Post(path, a.createAgent)
	r.Get(path+"/:id", a.getAgent)
	r.Put(path+"/:id", a.putAgent)
	r.Patch(path+"/:id", a.patchAgent)
	r.Delete(path+"/:id", a.deleteAgent)
	r.Post(path+"/:id/card", a.fetchAgentCard)
}

// agentJSON is an agent as the API shows it: the card as JSON rather than
// bytes, and the URL at which the team's callers reach the agent.
type agentJSON struct {
	attach.Agent
	Card      json.RawMessage `json:"card,omitempty"`
	HostedURL string          `json:"hosted_url"`
}

func (a *App) agentJSON(teamSlug string, ag attach.Agent) agentJSON {
	return agentJSON{
		Agent: ag, Card: json.RawMessage(ag.Card),
		HostedURL: a.cfg.PublicURL + "/t/" + url.PathEscape(teamSlug) + "/a2a/" + url.PathEscape(ag.Name),
	}
}

func (a *App) listAgents(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	list, next, err := a.store.ListAgents(c.UserContext(), team, page)
	items := make([]agentJSON, 0, len(list))
	for _, ag := range list {
		items = append(items, a.agentJSON(c.Params("team"), ag))
	}
	return listResponse(c, items, next, err)
}

func (a *App) createAgent(c *fiber.Ctx) error {
	team, in, err := a.agentInput(c)
	if err != nil {
		return err
	}
	ag, err := a.store.CreateAgent(c.UserContext(), team, in)
	if err != nil {
		return storeError(c, err)
	}
	ag, err = a.cards.refresh(c.UserContext(), ag)
	if err != nil {
		return storeError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(a.agentJSON(c.Params("team"), ag))
}

func (a *App) getAgent(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	ag, err := a.store.GetAgent(c.UserContext(), team, c.Params("id"))
	return a.agentFound(c, ag, err)
}

// putAgent replaces the agent's settings; a credential left out is kept,
// "" removes it.
func (a *App) putAgent(c *fiber.Ctx) error {
	team, in, err := a.agentInput(c)
	if err != nil {
		return err
	}
	return a.saveAgent(c, team, in)
}

// patchAgent changes the fields the body names and keeps the others.
func (a *App) patchAgent(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	var patch struct {
		Name       *string `json:"name"`
		BaseURL    *string `json:"base_url"`
		Version    *string `json:"version"`
		Credential *string `json:"credential"`
	}
	if err := decodeJSON(c, &patch); err != nil {
		return err
	}
	cur, err := a.store.GetAgent(c.UserContext(), team, c.Params("id"))
	if err != nil {
		return storeError(c, err)
	}
	in := tenants.AgentInput{Name: cur.Name, BaseURL: cur.BaseURL, Version: cur.Version, Credential: patch.Credential}
	if patch.Name != nil {
		in.Name = *patch.Name
	}
	if patch.BaseURL != nil {
		in.BaseURL = *patch.BaseURL
		if err := a.checkURL(c.UserContext(), "base_url", in.BaseURL); err != nil {
			return err
		}
	}
	if patch.Version != nil {
		in.Version = *patch.Version
	}
	return a.saveAgent(c, team, in)
}

// saveAgent updates the agent, then fetches its card.
func (a *App) saveAgent(c *fiber.Ctx, team string, in tenants.AgentInput) error {
	ag, err := a.store.UpdateAgent(c.UserContext(), team, c.Params("id"), in)
	if err != nil {
		return storeError(c, err)
	}
	ag, err = a.cards.refresh(c.UserContext(), ag)
	return a.agentFound(c, ag, err)
}

func (a *App) deleteAgent(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	return deleted(c, a.store.DeleteAgent(c.UserContext(), team, c.Params("id")))
}

// fetchAgentCard fetches the agent's card now and answers the agent as
// stored afterwards: a card that could not be fetched is in its
// card_error, with the last good card kept.
func (a *App) fetchAgentCard(c *fiber.Ctx) error {
	team, err := a.teamID(c)
	if err != nil {
		return err
	}
	ag, err := a.store.GetAgent(c.UserContext(), team, c.Params("id"))
	if err != nil {
		return storeError(c, err)
	}
	ag, err = a.cards.refresh(c.UserContext(), ag)
	return a.agentFound(c, ag, err)
}

// agentInput resolves the team, decodes the agent and refuses a base URL
// the gateway may not call, as for engines.
func (a *App) agentInput(c *fiber.Ctx) (string, tenants.AgentInput, error) {
	team, in, err := teamAndInput[tenants.AgentInput](a, c)
	if err == nil {
		err = a.checkURL(c.UserContext(), "base_url", in.BaseURL)
	}
	return team, in, err
}

func (a *App) agentFound(c *fiber.Ctx, ag attach.Agent, err error) error {
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(a.agentJSON(c.Params("team"), ag))
}
