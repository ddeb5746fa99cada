package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/tenants"
)

// cardFetcher reads registered agents' cards for the management API and
// the console: through the install's policy-guarded client, with the
// agent's credential, which only the team directory holds in clear.
type cardFetcher struct {
	client *http.Client
	dir    *tenants.Directory
	store  *tenants.Store
}

// fetch reads a's card now. a is as the store returns it; a failure is a
// sentence for the team's admin.
func (f *cardFetcher) fetch(ctx context.Context, a attach.Agent) (a2a.Card, error) {
	cred, err := f.credential(ctx, a)
	if err != nil {
		return a2a.Card{}, err
	}
	card, err := a2a.FetchCard(ctx, f.client, a.BaseURL, cred)
	if err != nil {
		return a2a.Card{}, plainNetError(err)
	}
	return card, nil
}

// cardWaitForSave bounds the wait for a save to reach the directory.
const cardWaitForSave = 2 * time.Second

// credential is the agent's credential in clear, from the directory. The
// directory follows the database a few milliseconds behind, so a fetch
// right after a save waits for the save. (An empty CredentialLast4 does not
// tell that there is none: a short credential shows no last four.)
func (f *cardFetcher) credential(ctx context.Context, a attach.Agent) (string, error) {
	var cred string
	wctx, cancel := context.WithTimeout(ctx, cardWaitForSave)
	defer cancel()
	err := f.dir.WaitFor(wctx, func(d *tenants.Directory) bool {
		team, ok := d.TeamByID(a.TeamID)
		if !ok {
			return false
		}
		for _, x := range team.Agents {
			if x.ID == a.ID && !x.UpdatedAt.Before(a.UpdatedAt) {
				cred = x.Credential
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", errors.New("the agent's saved settings have not reached this server yet; try again in a moment")
	}
	return cred, nil
}

// refresh fetches a's card and records the outcome, a failure included:
// a card that cannot be fetched is the agent's state, not the caller's
// error. It returns the agent as stored afterwards.
func (f *cardFetcher) refresh(ctx context.Context, a attach.Agent) (attach.Agent, error) {
	card, err := f.fetch(ctx, a)
	if err != nil {
		return f.store.SetAgentCard(ctx, a.TeamID, a.ID, nil, "", err.Error())
	}
	return f.store.SetAgentCard(ctx, a.TeamID, a.ID, card.Raw, card.Version, "")
}

// FetchAgentCard serves the console's agent pages.
func (f *cardFetcher) FetchAgentCard(ctx context.Context, a attach.Agent) (console.AgentCard, error) {
	card, err := f.fetch(ctx, a)
	if err != nil {
		return console.AgentCard{}, err
	}
	out := console.AgentCard{Raw: card.Raw, Version: card.Version, Name: card.Name, Description: card.Description}
	for _, s := range card.Skills {
		out.Skills = append(out.Skills, console.AgentSkill{ID: s.ID, Name: s.Name, Description: s.Description, Tags: s.Tags})
	}
	return out, nil
}
