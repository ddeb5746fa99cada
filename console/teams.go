package console

import (
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

func (c *Console) teamsPage(fc *fiber.Ctx) error {
	return c.renderTeams(fc, fiber.StatusOK, teamsView{})
}

func (c *Console) renderTeams(fc *fiber.Ctx, status int, v teamsView) error {
	ms, err := c.store.TeamsOf(fc.UserContext(), me(fc).user.ID)
	if err != nil {
		return c.internal(fc, "list teams", err)
	}
	v.Teams = ms
	if c.mayCreateTeams(fc) {
		v.CanCreate = true
	} else {
		v.CreateRefused = c.cfg.TeamCreators.refusal()
	}
	ch := c.chrome(fc, "Teams")
	ch.Teams = ms
	return render(fc, status, teamsPage(ch, v))
}

func (c *Console) createTeam(fc *fiber.Ctx) error {
	if !c.mayCreateTeams(fc) {
		return c.forbidden(fc, c.cfg.TeamCreators.refusal())
	}
	in := tenants.TeamInput{Slug: form(fc, "slug"), Name: form(fc, "name")}
	if fe := checkAll(in, tenants.TeamInput.Check, map[string]func(*tenants.TeamInput){
		"slug": func(in *tenants.TeamInput) { in.Slug = "team" },
		"name": func(in *tenants.TeamInput) { in.Name = "Team" },
	}); len(fe) > 0 {
		return c.renderTeams(fc, fiber.StatusUnprocessableEntity, teamsView{Slug: in.Slug, Name: in.Name, Errors: fe})
	}
	t, err := c.store.CreateTeamWithOwner(c.actor(fc), in, me(fc).user.ID)
	if err != nil {
		fe, status, ok := saveRefused(err, "slug", "This slug is taken: choose another")
		if !ok {
			return c.internal(fc, "create team", err)
		}
		return c.renderTeams(fc, status, teamsView{Slug: in.Slug, Name: in.Name, Errors: fe})
	}
	return seeOther(fc, teamURL(t.Slug, "?done=team-created"))
}

func (c *Console) settingsPage(fc *fiber.Ctx) error {
	return c.renderSettings(fc, fiber.StatusOK, settingsView{Name: current(fc).team.Name})
}

func (c *Console) renderSettings(fc *fiber.Ctx, status int, v settingsView) error {
	t := current(fc)
	v.CanEdit = t.role.CanEditTeam()
	v.EngineCookies = t.team.EngineCookies
	v.CanDelete = t.role.CanDeleteTeam()
	v.IsDefault = t.team.Slug == c.cfg.DefaultTeam
	return render(fc, status, settingsPage(c.teamChrome(fc, "Settings", "settings"), v))
}

func (c *Console) renameTeam(fc *fiber.Ctx) error {
	t := current(fc)
	name := form(fc, "name")
	if _, err := c.store.RenameTeam(c.actor(fc), t.team.ID, name); err != nil {
		fe, ok := asFormErrors(err)
		if !ok {
			return c.storeFail(fc, "rename team", err)
		}
		return c.renderSettings(fc, fiber.StatusUnprocessableEntity, settingsView{Name: name, RenameErrors: fe})
	}
	return seeOther(fc, teamURL(t.team.Slug, "/settings?done=team-renamed"))
}

// setEngineCookies lets the team's engines set cookies on its clients, or
// stops them (see attach.Team.EngineCookies).
func (c *Console) setEngineCookies(fc *fiber.Ctx) error {
	t := current(fc)
	on := checked(fc, "engine_cookies")
	if _, err := c.store.UpdateTeam(c.actor(fc), t.team.Slug, tenants.TeamInput{EngineCookies: &on}); err != nil {
		return c.storeFail(fc, "set engine cookies", err)
	}
	done := "engine-cookies-off"
	if on {
		done = "engine-cookies-on"
	}
	return seeOther(fc, teamURL(t.team.Slug, "/settings?done="+done))
}

// deleteTeam needs the team's name typed again: a team holds everything its
// agents depend on.
func (c *Console) deleteTeam(fc *fiber.Ctx) error {
	t := current(fc)
	if t.team.Slug == c.cfg.DefaultTeam {
		return c.fail(fc, &attach.Error{Code: attach.CodeConflict, Reason: "default_team",
			Message: "The install's default team serves the gateway's root routes and cannot be deleted."})
	}
	confirm := form(fc, "confirm")
	if confirm != t.team.Name {
		return c.renderSettings(fc, fiber.StatusUnprocessableEntity, settingsView{
			Name: t.team.Name, Confirm: confirm,
			DeleteErrors: formErrors{"confirm": "Type the team's name exactly as shown to delete it"},
		})
	}
	if err := c.store.DeleteTeam(c.actor(fc), t.team.ID); err != nil {
		return c.storeFail(fc, "delete team", err)
	}
	return seeOther(fc, Base+"/teams?done=team-deleted")
}
