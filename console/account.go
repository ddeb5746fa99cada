package console

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The account page, /console/account: a signed-in user changes their name
// and password, sees where they are signed in and ends those sessions, and
// leaves teams. Every change is a POST with the session's CSRF token and
// ends in a redirect with a notice; a refused form comes back with all its
// errors at once.

// leaveLastOwnerMessage names the rule that keeps the last owner in.
const leaveLastOwnerMessage = "You are the last owner of %s, and a team must keep at least one owner. " +
	"Make another member an owner first, or delete the team in its settings."

func (c *Console) accountPage(fc *fiber.Ctx) error {
	return c.renderAccount(fc, fiber.StatusOK, accountView{Name: me(fc).user.Name})
}

func (c *Console) renderAccount(fc *fiber.Ctx, status int, v accountView) error {
	s := me(fc)
	ctx := fc.UserContext()
	list, err := c.store.ListUserSessions(ctx, s.user.ID)
	if err != nil {
		return c.internal(fc, "list sessions", err)
	}
	ref, _ := tenants.SessionRef(s.token)
	for _, si := range list {
		v.Sessions = append(v.Sessions, sessionRow{SessionInfo: si, Current: si.Ref == ref})
	}
	if v.Teams, err = c.store.TeamsOf(ctx, s.user.ID); err != nil {
		return c.internal(fc, "list teams", err)
	}
	v.HasPassword = s.user.HasPassword
	v.Provider = s.user.OIDCIssuer
	ch := c.chrome(fc, "Your account")
	ch.Teams = v.Teams
	return render(fc, status, accountPage(ch, v))
}

// renameSelf changes the signed-in user's display name.
func (c *Console) renameSelf(fc *fiber.Ctx) error {
	s := me(fc)
	name := form(fc, "name")
	if _, err := c.store.RenameUser(c.actor(fc), s.user.ID, name); err != nil {
		fe, ok := asFormErrors(err)
		if !ok {
			return c.storeFail(fc, "rename user", err)
		}
		return c.renderAccount(fc, fiber.StatusUnprocessableEntity, accountView{Name: name, NameErrors: fe})
	}
	return seeOther(fc, accountURL("?done=name-saved"))
}

// changePassword needs the current password; the new one is checked by the
// store's rules and typed twice. Wrong current passwords count towards the
// sign-in throttle of the account, so the form is no way around it. On
// success every other session of the user ends.
func (c *Console) changePassword(fc *fiber.Ctx) error {
	s := me(fc)
	ctx := fc.UserContext()
	if !s.user.HasPassword {
		return c.fail(fc, &attach.Error{Code: attach.CodeConflict, Reason: "no_password",
			Message: "This account signs in through its identity provider, which manages its password."})
	}
	current := fc.FormValue("current_password")
	password := fc.FormValue("password")
	again := fc.FormValue("confirm_password")
	fe := formErrors{}
	if current == "" {
		fe.add("current_password", "Enter your current password")
	}
	if f, ok := asFormErrors(tenants.CheckPassword(password)); ok {
		fe.merge(f)
	}
	if password != again {
		fe.add("confirm_password", "The two new passwords differ")
	}
	refuse := func(status int, fe formErrors) error {
		return c.renderAccount(fc, status, accountView{Name: s.user.Name, PasswordErrors: fe})
	}
	keys := tenants.SignInKeys(fc.IP(), s.user.Email)
	wait, err := c.store.SignInAllowed(ctx, keys...)
	if err != nil {
		return c.internal(fc, "check sign-in throttle", err)
	}
	if wait > 0 {
		fc.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+999_999_999)/1_000_000_000)))
		return refuse(fiber.StatusTooManyRequests, fe.add("current_password", "Too many wrong passwords. Try again in "+humanWait(wait)))
	}
	if current != "" {
		// Checked even when the new one is refused, so all errors show at once.
		err = c.store.ChangePassword(c.actor(fc), s.user.ID, current, password, s.token)
		if err == nil && len(fe) == 0 {
			return seeOther(fc, accountURL("?done=password-changed"))
		}
		if f, ok := asFormErrors(err); ok {
			if f["current_password"] != "" {
				if _, err := c.store.SignInFailure(ctx, keys...); err != nil {
					return c.internal(fc, "count failed password", err)
				}
				f["current_password"] = "This is not your current password"
			}
			fe.merge(f)
		} else if err != nil {
			return c.storeFail(fc, "change password", err)
		}
	}
	return refuse(fiber.StatusUnprocessableEntity, fe)
}

// endSession signs out one other session of the user, named by its ref.
// The current one is not ended here: that is signing out.
func (c *Console) endSession(fc *fiber.Ctx) error {
	s := me(fc)
	ref := fc.Params("ref")
	if cur, _ := tenants.SessionRef(s.token); ref == cur {
		return c.fail(fc, &attach.Error{Code: attach.CodeBadRequest, Reason: "current_session",
			Message: "This is the session you are using: sign out instead."})
	}
	if err := c.store.EndUserSession(c.actor(fc), s.user.ID, ref); err != nil {
		return c.storeFail(fc, "end session", err)
	}
	return seeOther(fc, accountURL("?done=session-ended"))
}

// endOtherSessions signs out every session of the user but this one.
func (c *Console) endOtherSessions(fc *fiber.Ctx) error {
	s := me(fc)
	if _, err := c.store.EndOtherSessions(c.actor(fc), s.user.ID, s.token); err != nil {
		return c.storeFail(fc, "end other sessions", err)
	}
	return seeOther(fc, accountURL("?done=sessions-ended"))
}

// leaveTeam takes the user out of a team of theirs; the last owner is
// refused with the rule named.
func (c *Console) leaveTeam(fc *fiber.Ctx) error {
	s := me(fc)
	ctx := fc.UserContext()
	teamID := fc.Params("team")
	ms, err := c.store.TeamsOf(ctx, s.user.ID)
	if err != nil {
		return c.internal(fc, "list teams", err)
	}
	var team *tenants.Membership
	for i := range ms {
		if ms[i].Team.ID == teamID {
			team = &ms[i]
		}
	}
	if team == nil {
		return c.notFound(fc)
	}
	if err := c.store.LeaveTeam(c.actor(fc), teamID, s.user.ID); err != nil {
		if attach.ErrorCode(err) == attach.CodeLastOwner {
			return c.renderAccount(fc, fiber.StatusConflict, accountView{Name: s.user.Name,
				TeamProblem: fmtLastOwner(team.Team.Name)})
		}
		return c.storeFail(fc, "leave team", err)
	}
	return seeOther(fc, accountURL("?done=team-left"))
}

func fmtLastOwner(team string) string { return fmt.Sprintf(leaveLastOwnerMessage, team) }
