package identity

import (
	"slices"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// verifyAPIKey checks a gateway key (atk_<prefix>_<secret>) against the keys
// of the team. An unknown prefix and a wrong secret get the same answer.
// ReasonAPIKeyOfAnotherTeam refuses a live key of one team sent to another
// team's URL; the gateway names the key's team (see the app's refusal).
const ReasonAPIKeyOfAnotherTeam = "api_key_of_another_team"

func verifyAPIKey(team *tenants.Snapshot, token string, now time.Time) (attach.Principal, error) {
	prefix, ok := attach.ParseAPIKey(token)
	if !ok {
		return attach.Principal{}, fail(ReasonMalformed, "malformed gateway API key")
	}
	key, ok := team.APIKey(prefix)
	if !ok || !key.Matches(token) || (key.TeamID != "" && key.TeamID != team.Team.ID) {
		return attach.Principal{}, fail(ReasonUnknownAPIKey, "unknown API key")
	}
	if err := key.Usable(now); err != nil {
		return attach.Principal{}, err // revoked or expired, with the key's name
	}
	p := attach.Principal{
		TeamID:   team.Team.ID,
		TeamSlug: team.Team.Slug,
		Subject:  attach.SubjectPrefixAPIKey + key.ID,
		Issuer:   attach.IssuerAPIKey,
		Method:   attach.MethodAPIKey,
		KeyID:    key.ID,
		Scopes:   slices.Clone(key.Scopes),
	}
	if key.ExpiresAt != nil {
		p.ExpiresAt = *key.ExpiresAt
	}
	return p, nil
}
