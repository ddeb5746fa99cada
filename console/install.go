package console

import (
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The install's pages, for its administrators only (requireInstallAdmin):
// every team, linked into its pages (the default team too, which has no
// members of its own), and every user, with lock, unlock and remove.
// Changes are POSTs with the session's CSRF token, confirmed in a
// disclosure, and answered with a redirect (PRG).

// installPageSize is how many teams or users a page of the install's
// lists shows.
const installPageSize = 50

func (c *Console) installTeamsPage(fc *fiber.Ctx) error {
	page := installPage(fc)
	teams, next, err := c.store.ListTeamSummaries(fc.UserContext(), page)
	if err != nil {
		return c.listFail(fc, "list teams", err)
	}
	ch := c.chrome(fc, "Install · teams")
	return render(fc, fiber.StatusOK, installTeamsPage(ch, installTeamsView{Teams: teams, Next: next, First: page.After == ""}))
}

func (c *Console) installUsersPage(fc *fiber.Ctx) error {
	return c.renderInstallUsers(fc, fiber.StatusOK, "")
}

func (c *Console) renderInstallUsers(fc *fiber.Ctx, status int, problem string) error {
	page := installPage(fc)
	users, next, err := c.store.ListUsers(fc.UserContext(), page)
	if err != nil {
		return c.listFail(fc, "list users", err)
	}
	ch := c.chrome(fc, "Install · users")
	v := installUsersView{Users: users, Next: next, First: page.After == "", Me: me(fc).user.ID, Problem: problem, Admins: c.cfg.InstallAdmins}
	return render(fc, status, installUsersPage(ch, v))
}

// installPage reads the page cursor of the install's lists.
func installPage(fc *fiber.Ctx) tenants.Page {
	return tenants.Page{Limit: installPageSize, After: fc.Query("after")}
}

// installAuditPage lists the install's own log, newest first: sign-ins,
// failed sign-ins, accounts made, linked, locked, unlocked and removed,
// teams deleted.
func (c *Console) installAuditPage(fc *fiber.Ctx) error {
	page := installPage(fc)
	list, next, err := c.store.ListAudit(fc.UserContext(), "", page)
	if err != nil {
		return c.listFail(fc, "list install audit log", err)
	}
	ch := c.chrome(fc, "Install · audit log")
	return render(fc, fiber.StatusOK, installAuditPage(ch, auditView{Entries: list, Next: next, Paged: page.After != ""}))
}

// lockUser keeps a user from signing in and ends their sessions now.
func (c *Console) lockUser(fc *fiber.Ctx) error {
	return c.changeUser(fc, "lock", func(id string) error {
		_, err := c.store.LockUser(c.actor(fc), id)
		return err
	}, "user-locked")
}

func (c *Console) unlockUser(fc *fiber.Ctx) error {
	return c.changeUser(fc, "unlock", func(id string) error {
		_, err := c.store.UnlockUser(c.actor(fc), id)
		return err
	}, "user-unlocked")
}

// removeUser deletes an account; the store refuses the only owner of a
// team, and the page says which team.
func (c *Console) removeUser(fc *fiber.Ctx) error {
	return c.changeUser(fc, "remove", func(id string) error {
		return c.store.DeleteUser(c.actor(fc), id)
	}, "user-removed")
}

// setInstallAdmin makes the user an install administrator or no longer
// one. An administrator does not demote themselves: the install
// keeps the one who acts. An address listed in ATTACH_INSTALL_ADMINS
// stays an administrator whatever the flag; the page says so.
func (c *Console) grantInstallAdmin(fc *fiber.Ctx) error { return c.setInstallAdmin(fc, true) }

func (c *Console) revokeInstallAdmin(fc *fiber.Ctx) error { return c.setInstallAdmin(fc, false) }

func (c *Console) setInstallAdmin(fc *fiber.Ctx, on bool) error {
	if fc.Params("user") == me(fc).user.ID && !on {
		return c.renderInstallUsers(fc, fiber.StatusConflict, "You cannot stop being an install administrator yourself. Another install administrator can.")
	}
	done := "install-admin-off"
	if on {
		done = "install-admin-on"
	}
	return c.changeUser(fc, "change", func(id string) error {
		_, err := c.store.SetInstallAdmin(c.actor(fc), id, on)
		return err
	}, done)
}

// changeUser runs one of the install's changes to the account of the URL.
// An administrator cannot lock or remove their own account: the install
// would be left without the one who noticed, and unlocking takes another.
func (c *Console) changeUser(fc *fiber.Ctx, verb string, change func(id string) error, done string) error {
	id := fc.Params("user")
	if id == me(fc).user.ID && (verb == "lock" || verb == "remove") {
		return c.renderInstallUsers(fc, fiber.StatusConflict, "You cannot "+verb+" your own account. Another install administrator can.")
	}
	err := change(id)
	switch attach.ErrorCode(err) {
	case "":
		return seeOther(fc, Base+"/install/users?done="+done)
	case attach.CodeLastOwner:
		return c.renderInstallUsers(fc, fiber.StatusConflict, capitalize(err.Error()))
	}
	return c.storeFail(fc, verb+" user", err)
}

// joinTeam makes a visiting install administrator an owner of the team,
// so they can call its gateway and the team's log says who came in.
func (c *Console) joinTeam(fc *fiber.Ctx) error {
	t := current(fc)
	if !t.visiting {
		return seeOther(fc, teamURL(t.team.Slug, "?done=already-member"))
	}
	err := c.store.AddMember(c.actor(fc), t.team.ID, me(fc).user.ID, tenants.RoleOwner)
	if err != nil && attach.ErrorCode(err) != attach.CodeConflict {
		return c.storeFail(fc, "join team", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "?done=joined"))
}
