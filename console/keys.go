package console

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// keysPage lists the team's keys. After a key is made (?created=ID) it
// shows that key's secret, once: a reload says it was already shown.
func (c *Console) keysPage(fc *fiber.Ctx) error {
	v := keysView{}
	if id := fc.Query("created"); id != "" {
		k, err := c.store.GetAPIKey(fc.UserContext(), current(fc).team.ID, id)
		switch {
		case attach.ErrorCode(err) == attach.CodeNotFound:
			// Not this team's key: show the list only.
		case err != nil:
			return c.storeFail(fc, "get API key", err)
		default:
			if secret, ok := c.takeSecret(fc, revealKey, k.ID); ok {
				v.New, v.NewSecret = &k, secret
			} else {
				v.Shown = &k
			}
		}
	}
	return c.renderKeys(fc, fiber.StatusOK, v)
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
	if v.Tokens, err = c.keyTokens(fc.UserContext(), t.team.ID); err != nil {
		return c.usageFail(fc, err)
	}
	return render(fc, status, keysPage(c.teamChrome(fc, "API keys", "keys"), v))
}

// createKey mints a key and sends the browser to the keys page, which
// shows its secret once (see reveal.go). A reload of that page mints
// nothing; the secret is never put in any URL.
func (c *Console) createKey(fc *fiber.Ctx) error {
	t := current(fc)
	v := keysView{Name: form(fc, "name"), Expires: form(fc, "expires_at")}
	in := tenants.APIKeyInput{Name: v.Name, CreatedBy: me(fc).user.ID}
	fe := formErrors{}
	expires, err := parseExpiry(v.Expires)
	if err != nil {
		fe.add("expires_at", err.Error())
	}
	in.ExpiresAt = expires
	now := time.Now()
	fe.merge(checkAll(in, func(in tenants.APIKeyInput) error { return in.Check(now) }, map[string]func(*tenants.APIKeyInput){
		"name":       func(in *tenants.APIKeyInput) { in.Name = "key" },
		"expires_at": func(in *tenants.APIKeyInput) { in.ExpiresAt = nil },
	}))
	if len(fe) > 0 {
		v.Errors = fe
		return c.renderKeys(fc, fiber.StatusUnprocessableEntity, v)
	}
	k, secret, err := c.store.CreateAPIKey(c.actor(fc), t.team.ID, in)
	if err != nil {
		fe, ok := asFormErrors(err)
		if !ok {
			return c.storeFail(fc, "create API key", err)
		}
		v.Errors = fe
		return c.renderKeys(fc, fiber.StatusUnprocessableEntity, v)
	}
	if err := c.holdSecret(fc, revealKey, k.ID, secret); err != nil {
		return c.internal(fc, "hold API key secret", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/keys?created="+url.QueryEscape(k.ID)))
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
