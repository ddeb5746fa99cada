package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The setup page makes the first owner account from the one-time link the
// gateway prints at its first start. Once a user exists it only says so.

func (c *Console) setupPage(fc *fiber.Ctx) error {
	v := setupView{CSRF: c.preToken(fc), Token: fc.Query("token")}
	n, err := c.store.CountUsers(fc.UserContext())
	if err != nil {
		return c.internal(fc, "count users", err)
	}
	status := fiber.StatusOK
	switch {
	case n > 0:
		v.Done = true
	case v.Token == "":
		v.Error = "This page needs the setup link the gateway printed when it first started."
		status = fiber.StatusNotFound
	}
	return render(fc, status, setupPage(c.chrome(fc, "Set up"), v))
}

func (c *Console) setup(fc *fiber.Ctx) error {
	in := tenants.UserInput{Email: form(fc, "email"), Name: form(fc, "name"), Password: fc.FormValue("password")}
	v := setupView{CSRF: c.preToken(fc), Token: fc.FormValue("token"), Email: in.Email, Name: in.Name, Errors: formErrors{}}
	again := func(status int) error {
		return render(fc, status, setupPage(c.chrome(fc, "Set up"), v))
	}
	if fe := checkNewUser(in, fc.FormValue("password2")); fe != nil {
		v.Errors = fe
		return again(fiber.StatusUnprocessableEntity)
	}
	// The setup link is the operator's: its account administers the
	// install and owns the default team (the one the banner's key is for).
	in.InstallAdmin = true
	u, err := c.store.UseSetupTokenOwning(fc.UserContext(), v.Token, in, c.cfg.DefaultTeam)
	switch {
	case attach.ErrorCode(err) == attach.CodeConflict:
		v.Done = true
		return again(fiber.StatusConflict)
	case attach.ErrorCode(err) == attach.CodeNotFound, attach.ErrorCode(err) == attach.CodeExpired:
		v.Error = "This setup link is not valid or has expired. Restart the gateway to print a new one."
		return again(fiber.StatusNotFound)
	case err != nil:
		fe, ok := asFormErrors(err)
		if !ok {
			return c.internal(fc, "set up first user", err)
		}
		v.Errors = fe
		return again(fiber.StatusUnprocessableEntity)
	}
	if err := c.startSession(fc, u); err != nil {
		return c.internal(fc, "start session", err)
	}
	if c.cfg.DefaultTeam != "" {
		if ms, err := c.store.TeamsOf(fc.UserContext(), u.ID); err == nil && len(ms) > 0 {
			return seeOther(fc, teamURL(ms[0].Team.Slug, "?done=welcome-owner"))
		}
	}
	return seeOther(fc, Base+"/teams?done=welcome")
}

// checkNewPassword catches a mistyped repeat before the store sees the
// password; the store judges its strength.
// checkNewUser finds every field of a sign-up form the gateway would
// refuse: the store's rules for the account, and the password typed twice.
func checkNewUser(in tenants.UserInput, password2 string) formErrors {
	fe := formErrors{}.merge(checkNewPassword(in.Password, password2))
	return fe.merge(checkAll(in, tenants.UserInput.Check, map[string]func(*tenants.UserInput){
		"email":    func(in *tenants.UserInput) { in.Email = "someone@example.com" },
		"name":     func(in *tenants.UserInput) { in.Name = "Someone" },
		"password": func(in *tenants.UserInput) { in.Password = strings.Repeat("x", tenants.MinPasswordLen) },
	})).orNil()
}

func checkNewPassword(password, again string) formErrors {
	if password == "" {
		return formErrors{"password": "Choose a password"}
	}
	if password != again {
		return formErrors{"password2": "The two passwords differ"}
	}
	return nil
}
