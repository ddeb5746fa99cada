package app

import (
	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// keyOfAnotherTeam turns an unknown_api_key refusal into one that names the
// right URL when the key is a live key of another team: the commonest
// mistake with several teams is the right key on the wrong URL.
func (a *App) keyOfAnotherTeam(team *tenants.Snapshot, token string, refusal *attach.Error) *attach.Error {
	slug, ok := a.dir.KeyTeam(token)
	if !ok || slug == team.Team.Slug {
		return refusal
	}
	return &attach.Error{
		Code:   attach.CodeInvalidToken,
		Reason: identity.ReasonAPIKeyOfAnotherTeam,
		Message: "this API key belongs to team " + slug + ", not " + team.Team.Slug +
			": call " + a.cfg.PublicURL + "/t/" + slug + "/ or use a key of team " + team.Team.Slug,
	}
}
