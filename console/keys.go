package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

func (c *Console) keysPage(fc *fiber.Ctx) error {
	return c.renderKeys(fc, fiber.StatusOK, keysView{})
}

func (c *Console) renderKeys(fc *fiber.Ctx, status int, v keysView) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.store.ListAPIKeys(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list API keys", err)
	}
	v.Keys, v.Next, v.Paged = list, next, page.After != ""
	members, err := c.store.ListMembers(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.storeFail(fc, "list members", err)
	}
	v.Creators = make(map[string]string, len(members))
	for _, m := range members {
		v.Creators[m.User.ID] = userName(m.User)
	}
	v.CanEdit = t.role.CanManageTeam()
	return render(fc, status, keysPage(c.teamChrome(fc, "API keys", "keys"), v))
}

// createKey mints a key and shows its secret in this response only. The
// page is not cached (Cache-Control: no-store on every console page) and
// the secret is not put in any URL.
func (c *Console) createKey(fc *fiber.Ctx) error {
	t := current(fc)
	v := keysView{Name: form(fc, "name"), Expires: form(fc, "expires_at")}
	expires, err := parseExpiry(v.Expires)
	if err != nil {
		v.Errors = formErrors{"expires_at": err.Error()}
		return c.renderKeys(fc, fiber.StatusUnprocessableEntity, v)
	}
	k, secret, err := c.store.CreateAPIKey(c.actor(fc), t.team.ID, tenants.APIKeyInput{
		Name: v.Name, ExpiresAt: expires, CreatedBy: me(fc).user.ID,
	})
	if err != nil {
		fe, ok := asFormErrors(err)
		if !ok {
			return c.storeFail(fc, "create API key", err)
		}
		v.Errors = fe
		return c.renderKeys(fc, fiber.StatusUnprocessableEntity, v)
	}
	return c.renderKeys(fc, fiber.StatusCreated, keysView{New: &k, NewSecret: secret})
}

func (c *Console) revokeKey(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.store.RevokeAPIKey(c.actor(fc), t.team.ID, fc.Params("id")); err != nil {
		return c.storeFail(fc, "revoke API key", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/keys?done=key-revoked"))
}

// keyStatus is one word for the key's state.
func keyStatus(k attach.APIKey) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !k.ExpiresAt.After(time.Now()):
		return "expired"
	}
	return "active"
}

// keyCreator names who minted the key: a member by name, someone who has
// left the team as such, the management API or start-up as "—".
func keyCreator(creators map[string]string, k attach.APIKey) string {
	switch name, ok := creators[k.CreatedBy]; {
	case k.CreatedBy == "":
		return "—"
	case ok:
		return name
	}
	return "a former member"
}
