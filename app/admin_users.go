package app

import (
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The install's users through the management API, the install-level
// counterpart of the console's Install pages: list every user with their
// teams, mark install administrators, lock, unlock and remove accounts.
// A lock ends the user's console sessions in the same transaction, so
// their browsers and the console tokens minted for them stop on their next
// request, on every replica (the tokens are checked against Postgres on
// each call, checkConsoleAccess).
func (a *App) userRoutes(r fiber.Router) {
	r.Get("/users", a.listUsers)
	r.Get("/users/:user", a.getUser)
	r.Patch("/users/:user", a.updateUser)
	r.Delete("/users/:user", a.deleteUser)
	r.Post("/users/:user/lock", a.lockUser)
	r.Post("/users/:user/unlock", a.unlockUser)
}

// adminUser is a user as the management API shows one: the stored
// install_admin flag, and whether ATTACH_INSTALL_ADMINS names the user.
type adminUser struct {
	tenants.UserWithTeams
	InstallAdminListed bool `json:"install_admin_listed"`
}

func (a *App) adminUser(u tenants.UserWithTeams) adminUser {
	return adminUser{UserWithTeams: u, InstallAdminListed: a.cfg.InstallAdmins.Listed(u.User)}
}

func (a *App) listUsers(c *fiber.Ctx) error {
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	users, next, err := a.store.ListUsers(c.UserContext(), page)
	if err != nil {
		return storeError(c, err)
	}
	items := make([]adminUser, 0, len(users))
	for _, u := range users {
		items = append(items, a.adminUser(u))
	}
	return listResponse(c, items, next, nil)
}

func (a *App) getUser(c *fiber.Ctx) error {
	u, err := a.store.GetUserWithTeams(c.UserContext(), c.Params("user"))
	if err != nil {
		return storeError(c, err)
	}
	return c.JSON(a.adminUser(u))
}

// updateUser sets or clears the stored install administrator flag, the
// one field an install changes on an account.
func (a *App) updateUser(c *fiber.Ctx) error {
	var in struct {
		InstallAdmin *bool `json:"install_admin"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.InstallAdmin == nil {
		return attach.Invalid("install_admin", "is required: true or false")
	}
	if _, err := a.store.SetInstallAdmin(c.UserContext(), c.Params("user"), *in.InstallAdmin); err != nil {
		return storeError(c, err)
	}
	return a.getUser(c)
}

func (a *App) lockUser(c *fiber.Ctx) error {
	if _, err := a.store.LockUser(c.UserContext(), c.Params("user")); err != nil {
		return storeError(c, err)
	}
	return a.getUser(c)
}

func (a *App) unlockUser(c *fiber.Ctx) error {
	if _, err := a.store.UnlockUser(c.UserContext(), c.Params("user")); err != nil {
		return storeError(c, err)
	}
	return a.getUser(c)
}

// deleteUser removes an account, its memberships and sessions. The only
// owner of a team is refused with 409 last_owner naming the team.
func (a *App) deleteUser(c *fiber.Ctx) error {
	err := a.store.DeleteUser(c.UserContext(), c.Params("user"))
	if attach.ErrorCode(err) == attach.CodeLastOwner {
		return err
	}
	return deleted(c, err)
}
