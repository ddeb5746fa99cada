package console

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// An invite link, /console/invite/TOKEN, lets its invitee join the team:
// signed in, with one click; otherwise by signing in first (and coming
// back) or by creating an account. A bound invite takes only an account
// whose verified email is the invite's: the sign-up form is fixed to that
// address (the link was delivered there), and a single sign-on account
// must come with the provider's email_verified. An "anyone with the link"
// invite takes any account; its sign-up never takes an existing address.

func inviteURL(token string) string { return Base + "/invite/" + url.PathEscape(token) }

// openInvite finds the invite of the URL; an unknown, used or expired one
// gets the 404 page.
func (c *Console) openInvite(fc *fiber.Ctx) (tenants.Invite, attach.Team, bool, error) {
	in, team, err := c.store.InviteByToken(fc.UserContext(), fc.Params("token"))
	switch {
	case inviteGone(err):
		return in, team, false, c.fail(fc, errInviteGone())
	case err != nil:
		return in, team, false, c.internal(fc, "find invite", err)
	}
	return in, team, true, nil
}

func (c *Console) invitePage(fc *fiber.Ctx) error {
	in, team, ok, err := c.openInvite(fc)
	if !ok {
		return err
	}
	v := inviteView{Token: fc.Params("token"), Invite: in, Team: team, SSO: c.sso != nil, SignedIn: me(fc) != nil}
	v.CSRF = c.formCSRF(fc)
	if v.SignedIn && !in.Anyone {
		// Say at once, before any click, when this account cannot take the
		// invite (someone back from single sign-on with another address).
		u, err := c.store.GetUser(fc.UserContext(), me(fc).user.ID)
		if err != nil {
			return c.internal(fc, "get user", err)
		}
		var refusal *attach.Error
		if errors.As(in.Refuses(u), &refusal) {
			v.Refusal = refusal.Message
			return render(fc, fiber.StatusForbidden, invitePage(c.chrome(fc, "Join "+team.Name), v))
		}
	}
	return render(fc, fiber.StatusOK, invitePage(c.chrome(fc, "Join "+team.Name), v))
}

// acceptInvite adds the signed-in user to the team.
func (c *Console) acceptInvite(fc *fiber.Ctx) error {
	_, team, ok, err := c.openInvite(fc)
	if !ok {
		return err
	}
	m, err := c.store.AcceptInvite(c.actor(fc), fc.Params("token"), me(fc).user.ID)
	switch {
	case attach.ErrorCode(err) == attach.CodeConflict:
		// Already a member: the invite has nothing to add.
		return seeOther(fc, teamURL(team.Slug, "?done=already-member"))
	case err != nil:
		return c.inviteFailed(fc, err)
	}
	return seeOther(fc, teamURL(m.Team.Slug, "?done=joined"))
}

// lifetime says how long an invite link works, in words.
func lifetime(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return d.String()
}

// inviteSignUp creates an account and joins the team with it. A bound
// invite's account is for the invited email, whatever the form says, and
// counts as verified: the link was delivered to that address.
func (c *Console) inviteSignUp(fc *fiber.Ctx) error {
	in, team, ok, err := c.openInvite(fc)
	if !ok {
		return err
	}
	user := tenants.UserInput{Email: form(fc, "email"), Name: form(fc, "name"), Password: fc.FormValue("password")}
	if !in.Anyone {
		user.Email, user.EmailVerified = in.Email, true
	}
	v := inviteView{CSRF: c.preToken(fc), Token: fc.Params("token"), Invite: in, Team: team, SSO: c.sso != nil,
		Email: user.Email, Name: user.Name}
	again := func(fe formErrors) error {
		v.Errors = fe
		return render(fc, fiber.StatusUnprocessableEntity, invitePage(c.chrome(fc, "Join "+team.Name), v))
	}
	if fe := checkNewUser(user, fc.FormValue("password2")); fe != nil {
		return again(fe)
	}
	u, err := c.store.CreateLocalUser(fc.UserContext(), user)
	if fe, _, ok := saveRefused(err, "email", "An account with this email exists already: sign in instead"); ok {
		return again(fe)
	}
	if err != nil {
		return c.internal(fc, "create user", err)
	}
	if err := c.startSession(fc, u); err != nil {
		return c.internal(fc, "start session", err)
	}
	// The join is recorded as the new user's own act.
	m, err := c.store.AcceptInvite(actorCtx(fc, u), fc.Params("token"), u.ID)
	if err != nil {
		return c.inviteFailed(fc, err)
	}
	return seeOther(fc, teamURL(m.Team.Slug, "?done=joined"))
}

func inviteEmail(v inviteView) string {
	if !v.Invite.Anyone {
		return v.Invite.Email
	}
	if v.Email != "" {
		return v.Email
	}
	return v.Invite.Email
}

func (c *Console) inviteFailed(fc *fiber.Ctx, err error) error {
	if inviteGone(err) {
		return c.fail(fc, errInviteGone())
	}
	var ae *attach.Error
	if errors.As(err, &ae) && ae.Reason == tenants.ReasonInviteWrongEmail {
		return c.fail(fc, ae)
	}
	return c.internal(fc, "accept invite", err)
}

// inviteGone tells an invite that was used, revoked or has expired.
func inviteGone(err error) bool {
	code := attach.ErrorCode(err)
	return code == attach.CodeNotFound || code == attach.CodeExpired
}

func errInviteGone() *attach.Error {
	return &attach.Error{Code: attach.CodeNotFound, Reason: "invite_not_found",
		Message: "This invite link is not valid: it was used, revoked or has expired. Ask a team admin for a new one."}
}
