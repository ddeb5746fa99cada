package app

import (
	"context"
	"fmt"

	"github.com/attach-dev/attach-gateway/tenants"
)

// ensureDefaultTeam creates the team served at the root and, in side-car mode,
// gives it the issuer and engine named by OIDC_ISSUER/OIDC_AUD and ENGINE_URL.
// The environment is the source of truth for the default team's issuer: other
// issuers on that team are removed, so changing OIDC_ISSUER never leaves the
// old one trusted.
func (a *App) ensureDefaultTeam(ctx context.Context) error {
	team, err := a.store.EnsureTeam(ctx, tenants.TeamInput{Slug: a.cfg.DefaultTeam, Name: a.cfg.DefaultTeam})
	if err != nil {
		return fmt.Errorf("create default team %q: %w", a.cfg.DefaultTeam, err)
	}
	if a.cfg.OIDCIssuer != "" {
		iss, err := a.store.EnsureIssuer(ctx, team.ID, tenants.IssuerInput{URL: a.cfg.OIDCIssuer, Audience: a.cfg.OIDCAudience})
		if err != nil {
			return fmt.Errorf("configure OIDC_ISSUER on the default team: %w", err)
		}
		if err := a.removeOtherIssuers(ctx, team.ID, iss.ID); err != nil {
			return err
		}
	}
	if a.cfg.EngineURL != "" {
		in := tenants.EngineInput{
			Name:    "default",
			Dialect: a.cfg.EngineDialect,
			BaseURL: a.cfg.EngineURL,
			Models:  a.cfg.EngineModels,
			Default: true,
		}
		if a.cfg.EngineAPIKey != "" {
			in.APIKey = &a.cfg.EngineAPIKey
		}
		if _, err := a.store.EnsureEngine(ctx, team.ID, in); err != nil {
			return fmt.Errorf("configure ENGINE_URL on the default team: %w", err)
		}
	}
	a.log.Info("default team ready", "team", team.Slug, "issuer", a.cfg.OIDCIssuer, "engine_configured", a.cfg.EngineURL != "")
	return nil
}

func (a *App) removeOtherIssuers(ctx context.Context, teamID, keep string) error {
	var page tenants.Page
	for {
		list, next, err := a.store.ListIssuers(ctx, teamID, page)
		if err != nil {
			return fmt.Errorf("list default team issuers: %w", err)
		}
		for _, is := range list {
			if is.ID == keep {
				continue
			}
			if err := a.store.DeleteIssuer(ctx, teamID, is.ID); err != nil {
				return fmt.Errorf("remove old default team issuer: %w", err)
			}
			a.log.Info("removed issuer no longer named by OIDC_ISSUER", "team", a.cfg.DefaultTeam, "issuer", is.URL)
		}
		if next == "" {
			return nil
		}
		page.After = next
	}
}
