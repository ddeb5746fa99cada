package tenants

import attach "github.com/attach-dev/attach-gateway"

// KeyTeam finds the team whose API key token is, so that a key sent to
// another team's URL can be told so instead of "unknown". Only the full
// secret matches, never the public prefix alone: the answer names a team to
// the key's holder, who may know it, and to nobody else. It scans every team
// and runs only after a key was refused.
func (d *Directory) KeyTeam(token string) (slug string, ok bool) {
	prefix, ok := attach.ParseAPIKey(token)
	if !ok {
		return "", false
	}
	idx := d.index.Load()
	if idx == nil {
		return "", false
	}
	for _, s := range idx.byID {
		if k, found := s.APIKey(prefix); found && k.Matches(token) {
			return s.Team.Slug, true
		}
	}
	return "", false
}
