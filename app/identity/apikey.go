package identity

import (
	"errors"
	"slices"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

// verifyAPIKey checks a gateway key (atk_<prefix>_<secret>) against the keys
// of the team. An unknown prefix and a wrong secret get the same answer.
func verifyAPIKey(team *tenants.Snapshot, token string, now time.Time) (Principal, error) {
	prefix, ok := tenants.ParseAPIKey(token)
	if !ok {
		return Principal{}, fail(ReasonMalformed, "malformed gateway API key")
	}
	key, ok := team.APIKey(prefix)
	if !ok || !key.Matches(token) || (key.TeamID != "" && key.TeamID != team.Team.ID) {
		return Principal{}, fail(ReasonUnknownAPIKey, "unknown API key")
	}
	if err := key.Usable(now); err != nil {
		switch {
		case errors.Is(err, tenants.ErrKeyRevoked):
			return Principal{}, fail(ReasonKeyRevoked, "API key %q was revoked", key.Name)
		case errors.Is(err, tenants.ErrKeyExpired):
			return Principal{}, fail(ReasonKeyExpired, "API key %q expired at %s", key.Name, key.ExpiresAt.UTC().Format(time.RFC3339))
		default:
			return Principal{}, fail(ReasonUnknownAPIKey, "API key %q cannot be used", key.Name)
		}
	}
	p := Principal{
		TeamID:   team.Team.ID,
		TeamSlug: team.Team.Slug,
		Subject:  "apikey:" + key.ID,
		Issuer:   IssuerAPIKey,
		Method:   MethodAPIKey,
		KeyID:    key.ID,
		Scopes:   slices.Clone(key.Scopes),
	}
	if key.ExpiresAt != nil {
		p.ExpiresAt = *key.ExpiresAt
	}
	return p, nil
}
