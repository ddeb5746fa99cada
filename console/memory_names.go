package console

import (
	"context"
	"encoding/json"
	"fmt"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// maxNamedKeys bounds how many of a team's API keys the memory pages look
// up to name their events: a team with more shows the rest by subject.
const maxNamedKeys = 2000

// addKeyNames names the team's API keys, revoked ones included (their
// events outlive them), by subject: "NAME (API key)".
func (c *Console) addKeyNames(ctx context.Context, teamID string, names map[string]string) error {
	page := tenants.Page{Limit: 200}
	for n := 0; n < maxNamedKeys; n += page.Limit {
		keys, next, err := c.store.ListAPIKeys(ctx, teamID, page)
		if err != nil {
			return fmt.Errorf("list API keys: %w", err)
		}
		for _, k := range keys {
			names[attach.SubjectPrefixAPIKey+k.ID] = k.Name + " (API key)"
		}
		if next == "" {
			return nil
		}
		page.After = next
	}
	return nil
}

// stoppedAnswer says whether e is an answer its client stopped midway:
// the gateway marks it "stopped" in the metadata.
func stoppedAnswer(e attach.Event) bool {
	if e.Kind != attach.KindResponse || len(e.Metadata) == 0 {
		return false
	}
	var m struct {
		Stopped bool `json:"stopped"`
	}
	return json.Unmarshal(e.Metadata, &m) == nil && m.Stopped
}
