package console

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// The team's A2A agents: the agents its callers reach through the gateway
// at /t/TEAM/a2a/NAME. Saving an agent reads its card; "Test" reads it
// again and shows it. A card that cannot be read never stops a save: the
// agent may be registered before it runs.

func (c *Console) agentsPage(fc *fiber.Ctx) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.store.ListAgents(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list agents", err)
	}
	v := agentsView{Agents: list, Next: next, Paged: page.After != "", CanEdit: t.role.CanManageTeam(), Hosted: c.hostedURL(t.team.Slug)}
	return render(fc, fiber.StatusOK, agentsPage(c.teamChrome(fc, "Agents", "agents"), v))
}

func (c *Console) newAgentPage(fc *fiber.Ctx) error {
	return c.renderAgentForm(fc, fiber.StatusOK, agentFormView{Version: attach.A2AVersionAuto})
}

func (c *Console) renderAgentForm(fc *fiber.Ctx, status int, v agentFormView) error {
	title := "Register agent"
	if v.Agent != nil {
		title = "Agent " + v.Agent.Name
		v.Hosted = agentURL(c.hostedURL(current(fc).team.Slug), v.Agent.Name)
	}
	v.CanFetch = c.cards != nil
	return render(fc, status, agentFormPage(c.teamChrome(fc, title, "agents"), v))
}

// agentForm reads the agent form. The credential goes into the input only
// when one was typed (or removal was asked for), so an empty field on edit
// keeps the stored one.
func agentForm(fc *fiber.Ctx) (tenants.AgentInput, agentFormView) {
	in := tenants.AgentInput{
		Name:    form(fc, "name"),
		BaseURL: form(fc, "base_url"),
		Version: form(fc, "version"),
	}
	if cred := strings.TrimSpace(fc.FormValue("credential")); cred != "" {
		in.Credential = &cred
	} else if checked(fc, "clear_credential") {
		none := ""
		in.Credential = &none
	}
	v := agentFormView{
		Name: in.Name, BaseURL: in.BaseURL, Version: in.Version,
		CredentialLost: in.Credential != nil && *in.Credential != "",
	}
	return in, v
}

// checkAgent finds every field of the agent form the gateway would refuse.
func (c *Console) checkAgent(ctx context.Context, in tenants.AgentInput) formErrors {
	fe := formErrors{}.merge(c.checkURL(ctx, "base_url", in.BaseURL))
	return fe.merge(checkAll(in, tenants.AgentInput.Check, map[string]func(*tenants.AgentInput){
		"name":       func(in *tenants.AgentInput) { in.Name = "agent" },
		"base_url":   func(in *tenants.AgentInput) { in.BaseURL = "http://agent.invalid" },
		"version":    func(in *tenants.AgentInput) { in.Version = "" },
		"credential": func(in *tenants.AgentInput) { in.Credential = nil },
	})).orNil()
}

func (c *Console) createAgent(fc *fiber.Ctx) error {
	t := current(fc)
	in, v := agentForm(fc)
	if fe := c.checkAgent(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderAgentForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	a, err := c.store.CreateAgent(c.actor(fc), t.team.ID, in)
	if err != nil {
		return c.agentSaveFailed(fc, v, err)
	}
	// The card's outcome is stored with the agent; the list shows it.
	_, _, _ = c.readCard(fc.UserContext(), a)
	return seeOther(fc, teamURL(t.team.Slug, "/agents?done=agent-created"))
}

func (c *Console) agentSaveFailed(fc *fiber.Ctx, v agentFormView, err error) error {
	if fe, status, ok := saveRefused(err, "name", "The team has an agent with this name already"); ok {
		v.Errors = fe
		return c.renderAgentForm(fc, status, v)
	}
	return c.storeFail(fc, "save agent", err)
}

func (c *Console) agentPage(fc *fiber.Ctx) error {
	a, err := c.store.GetAgent(fc.UserContext(), current(fc).team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get agent", err)
	}
	return c.renderAgentForm(fc, fiber.StatusOK, agentView(a))
}

func agentView(a attach.Agent) agentFormView {
	return agentFormView{Agent: &a, Name: a.Name, BaseURL: a.BaseURL, Version: a.Version}
}

func (c *Console) updateAgent(fc *fiber.Ctx) error {
	t := current(fc)
	cur, err := c.store.GetAgent(fc.UserContext(), t.team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get agent", err)
	}
	in, v := agentForm(fc)
	v.Agent = &cur
	if fe := c.checkAgent(fc.UserContext(), in); fe != nil {
		v.Errors = fe
		return c.renderAgentForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	a, err := c.store.UpdateAgent(c.actor(fc), t.team.ID, cur.ID, in)
	if err != nil {
		return c.agentSaveFailed(fc, v, err)
	}
	// The card's outcome is stored with the agent; the list shows it.
	_, _, _ = c.readCard(fc.UserContext(), a)
	return seeOther(fc, teamURL(t.team.Slug, "/agents?done=agent-saved"))
}

func (c *Console) deleteAgent(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.store.DeleteAgent(c.actor(fc), t.team.ID, fc.Params("id")); err != nil {
		return c.storeFail(fc, "delete agent", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/agents?done=agent-deleted"))
}

// agentCardTimeout bounds a card read: an agent that does not answer in
// this time is as good as down to the admin looking at the page.
const agentCardTimeout = 15 * time.Second

// readCard fetches a's card and stores the outcome, a failure included, so
// the agents page shows it. It returns what the fetch read, or its error.
func (c *Console) readCard(ctx context.Context, a attach.Agent) (attach.Agent, AgentCard, error) {
	if c.cards == nil {
		return a, AgentCard{}, errCardsOff
	}
	ctx, cancel := context.WithTimeout(ctx, agentCardTimeout)
	defer cancel()
	card, fetchErr := c.cards.FetchAgentCard(ctx, a)
	var stored attach.Agent
	var err error
	if fetchErr != nil {
		stored, err = c.store.SetAgentCard(context.WithoutCancel(ctx), a.TeamID, a.ID, nil, "", fetchErr.Error())
	} else {
		stored, err = c.store.SetAgentCard(context.WithoutCancel(ctx), a.TeamID, a.ID, card.Raw, card.Version, "")
	}
	if err != nil {
		c.log.Error("console: record agent card", "agent_id", a.ID, "err", err)
		stored = a
	}
	return stored, card, fetchErr
}

// errCardsOff is what an agent's page says when the install fetches no
// cards.
var errCardsOff = attach.Errorf(attach.CodeUnavailable, "this server does not fetch agent cards")

// cardResult is the outcome of a "Test", for the page and for scripts.
type cardResult struct {
	OK          bool         `json:"ok"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	Version     string       `json:"version,omitempty"`
	Skills      []AgentSkill `json:"skills,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// testAgent reads the agent's card now. A script gets JSON; a browser
// without script gets the agent's page with the card.
func (c *Console) testAgent(fc *fiber.Ctx) error {
	a, err := c.store.GetAgent(fc.UserContext(), current(fc).team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get agent", err)
	}
	a, card, err := c.readCard(fc.UserContext(), a)
	r := cardResult{OK: err == nil, Name: card.Name, Description: card.Description, Version: card.Version, Skills: card.Skills}
	if err != nil {
		r = cardResult{Error: err.Error()}
	}
	if wantsJSON(fc) {
		if !r.OK {
			return web.WriteError(fc, &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: "agent_card_unreadable", Message: r.Error})
		}
		return writeJSON(fc, fiber.StatusOK, r)
	}
	v := agentView(a)
	v.Test = &r
	return c.renderAgentForm(fc, fiber.StatusOK, v)
}

// agentURL is where the team's callers reach an agent through the gateway.
func agentURL(hosted, name string) string {
	return hosted + "/a2a/" + url.PathEscape(name)
}

// credentialHint is what a page shows of an agent's credential: its last
// four characters, never more.
func credentialHint(a attach.Agent) string {
	if a.CredentialLast4 == "" {
		return "—"
	}
	return "••••" + a.CredentialLast4
}

// cardName reads the name from the agent's stored card, for the list.
func cardName(a attach.Agent) string {
	var card struct {
		Name string `json:"name"`
	}
	if len(a.Card) == 0 || json.Unmarshal(a.Card, &card) != nil {
		return ""
	}
	return card.Name
}

// versionLabel says which version the gateway speaks to the agent, and
// why.
func versionLabel(a attach.Agent) string {
	if a.Version == attach.A2AVersionAuto {
		if a.CardVersion == "" {
			return "auto (0.3 until the card is read)"
		}
		return "auto: " + a.SpokenVersion()
	}
	return a.Version
}

func agentFormAction(ch chrome, a *attach.Agent) string {
	if a == nil {
		return teamURL(ch.Team.Slug, "/agents")
	}
	return teamURL(ch.Team.Slug, "/agents/"+a.ID)
}

func fetchedAt(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
