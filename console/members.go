package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Admins manage people, except owners: making, unmaking or removing an
// owner takes an owner. The store keeps the last owner in place.

const lastOwnerMessage = "A team needs at least one owner. Make someone else an owner first."

// membersPage lists members and pending invites. After an invite is made
// (?invited=ID) it shows the invite's link, once: a reload says it was
// already shown.
func (c *Console) membersPage(fc *fiber.Ctx) error {
	v := membersView{Role: tenants.RoleMember}
	if id := fc.Query("invited"); id != "" {
		v.Invited = id
	}
	return c.renderMembers(fc, fiber.StatusOK, v)
}

func (c *Console) renderMembers(fc *fiber.Ctx, status int, v membersView) error {
	t := current(fc)
	ctx := fc.UserContext()
	members, err := c.store.ListMembers(ctx, t.team.ID)
	if err != nil {
		return c.storeFail(fc, "list members", err)
	}
	invites, err := c.store.ListInvites(ctx, t.team.ID)
	if err != nil {
		return c.storeFail(fc, "list invites", err)
	}
	v.Members, v.Invites = members, invites
	if v.Invited != "" {
		c.revealInvite(fc, &v)
	}
	v.Me = me(fc).user.ID
	v.Actor = t.role
	v.TTL = c.cfg.InviteTTL
	return render(fc, status, membersPage(c.teamChrome(fc, "Members", "members"), v))
}

func (c *Console) invite(fc *fiber.Ctx) error {
	t := current(fc)
	v := membersView{Email: form(fc, "email"), Role: tenants.Role(form(fc, "role")), Anyone: form(fc, "anyone") != ""}
	fe := formErrors{}
	role, err := tenants.ParseRole(string(v.Role))
	if err != nil {
		fe.add("role", "Choose a role")
		role = tenants.RoleMember
	}
	input := tenants.InviteInput{Email: v.Email, Anyone: v.Anyone, Role: role, InvitedBy: me(fc).user.ID, TTL: c.cfg.InviteTTL}
	fe.merge(checkAll(input, tenants.InviteInput.Check, map[string]func(*tenants.InviteInput){
		"email": func(in *tenants.InviteInput) { in.Email, in.Anyone = "", true },
	}))
	if len(fe) > 0 {
		v.Errors = fe
		return c.renderMembers(fc, fiber.StatusUnprocessableEntity, v)
	}
	if !t.role.CanAssign("", role) {
		return c.forbidden(fc, refuseOwners)
	}
	in, token, err := c.store.CreateInvite(c.actor(fc), t.team.ID, input)
	if err != nil {
		fe, _, ok := saveRefused(err, "email", "This person is already a member or has a pending invite")
		if !ok {
			return c.storeFail(fc, "create invite", err)
		}
		// The members page answers 422 to a conflict too.
		v.Errors = fe
		return c.renderMembers(fc, fiber.StatusUnprocessableEntity, v)
	}
	if err := c.holdSecret(fc, revealInvite, in.ID, c.cfg.PublicURL+inviteURL(token)); err != nil {
		return c.internal(fc, "hold invite link", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/members?invited="+url.QueryEscape(in.ID)))
}

// revealInvite fills in the link of the pending invite v.Invited names, the
// first time the page is loaded after it was made, or says that it was
// shown already.
func (c *Console) revealInvite(fc *fiber.Ctx, v *membersView) {
	for _, in := range v.Invites {
		if in.ID != v.Invited {
			continue
		}
		if link, ok := c.takeSecret(fc, revealInvite, in.ID); ok {
			v.NewEmail, v.NewLink = in.For(), link
		} else {
			v.ShownEmail = in.For()
		}
		return
	}
}

func (c *Console) revokeInvite(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.store.RevokeInvite(c.actor(fc), t.team.ID, fc.Params("id")); err != nil {
		return c.storeFail(fc, "revoke invite", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/members?done=invite-revoked"))
}

// targetRole is the current role of the member the URL names; a user who is
// not a member of this team answers 404.
func (c *Console) targetRole(fc *fiber.Ctx) (tenants.Role, bool, error) {
	role, err := c.store.RoleOf(fc.UserContext(), current(fc).team.ID, fc.Params("user"))
	if err != nil {
		return "", false, c.storeFail(fc, "find member", err)
	}
	return role, true, nil
}

func (c *Console) setRole(fc *fiber.Ctx) error {
	t := current(fc)
	role, err := tenants.ParseRole(form(fc, "role"))
	if err != nil {
		return c.fail(fc, &attach.Error{Code: attach.CodeInvalid, Reason: "invalid_role", Message: "Choose one of viewer, member, admin or owner."})
	}
	cur, ok, err := c.targetRole(fc)
	if !ok {
		return err
	}
	if !t.role.CanAssign(cur, role) {
		return c.forbidden(fc, refuseOwners)
	}
	if err := c.store.SetRole(c.actor(fc), t.team.ID, fc.Params("user"), role); err != nil {
		if attach.ErrorCode(err) == attach.CodeLastOwner {
			return c.renderMembers(fc, fiber.StatusConflict, membersView{Role: tenants.RoleMember, Problem: lastOwnerMessage})
		}
		return c.storeFail(fc, "set role", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/members?done=role-changed"))
}

func (c *Console) removeMember(fc *fiber.Ctx) error {
	t := current(fc)
	cur, ok, err := c.targetRole(fc)
	if !ok {
		return err
	}
	if !canTouch(t.role, cur) {
		return c.forbidden(fc, refuseOwners)
	}
	if err := c.store.RemoveMember(c.actor(fc), t.team.ID, fc.Params("user")); err != nil {
		if attach.ErrorCode(err) == attach.CodeLastOwner {
			return c.renderMembers(fc, fiber.StatusConflict, membersView{Role: tenants.RoleMember, Problem: lastOwnerMessage})
		}
		return c.storeFail(fc, "remove member", err)
	}
	if fc.Params("user") == me(fc).user.ID {
		return seeOther(fc, Base+"/teams?done=member-removed")
	}
	return seeOther(fc, teamURL(t.team.Slug, "/members?done=member-removed"))
}

// canTouch tells whether actor may change or remove a member with role
// target: admins manage everyone below owner, owners everyone.
func canTouch(actor, target tenants.Role) bool { return actor.CanAssign(target, target) }

func memberURL(ch chrome, userID, action string) string {
	return teamURL(ch.Team.Slug, "/members/"+userID+action)
}
