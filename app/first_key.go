package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// firstKeyMarker, in the data folder, says the first-start key was minted
// (and shown): it is never minted twice, even when every key is revoked.
const firstKeyMarker = "first-key.issued"

// FirstStartKey mints, on the first start of the embedded default, one API
// key of the default team, so the start-up banner can print a command that
// works as pasted. It returns "" on every later start, when the team has keys
// already, and with DATABASE_URL (a hosted install's stdout ends up in log
// collectors, where a key must not be). The key is shown once, like the
// console's setup link; it can be revoked in the console or the management
// API like any other.
func (a *App) FirstStartKey(ctx context.Context) (string, error) {
	if a.pg == nil {
		return "", nil
	}
	marker := filepath.Join(a.cfg.DataDir, firstKeyMarker)
	if _, err := os.Stat(marker); err == nil || !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	team, ok := a.dir.Team(a.cfg.DefaultTeam)
	if !ok {
		return "", fmt.Errorf("default team %q not loaded", a.cfg.DefaultTeam)
	}
	keys, _, err := a.store.ListAPIKeys(ctx, team.Team.ID, tenants.Page{Limit: 1})
	if err != nil {
		return "", err
	}
	var secret string
	if len(keys) == 0 {
		ctx = tenants.WithActor(ctx, tenants.Actor{Name: "attach serve (first start)"})
		var key attach.APIKey
		if key, secret, err = a.store.CreateAPIKey(ctx, team.Team.ID, tenants.APIKeyInput{Name: "first-start key"}); err != nil {
			return "", fmt.Errorf("mint the first-start key: %w", err)
		}
		// The banner's curl must work the moment it is printed: wait for
		// the directory to hear of the key (a notice away).
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = a.dir.WaitFor(wctx, func(d *tenants.Directory) bool {
			t, ok := d.Team(a.cfg.DefaultTeam)
			if !ok {
				return false
			}
			_, found := t.APIKey(key.Prefix)
			return found
		})
		if err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(marker, []byte("the first-start API key of the default team was shown on the terminal\n"), 0o600); err != nil {
		return "", fmt.Errorf("record the first-start key: %w", err)
	}
	return secret, nil
}
