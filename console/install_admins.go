package console

import (
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/attach-dev/attach-gateway/tenants"
)

// lockedMessage is what a locked account is told when it signs in.
const lockedMessage = "This account is locked by the gateway's administrators. Ask one of them to unlock it."

// InstallAdmins names the install's administrators beyond the accounts
// stored as such (tenants.User.InstallAdmin): the addresses of
// ATTACH_INSTALL_ADMINS. An address counts only once its owner proved it
// (the provider's email_verified, a bound invite, the setup link), so
// typing it into a sign-up form makes nobody an administrator.
type InstallAdmins struct {
	emails []string // lowercase
}

// ParseInstallAdmins reads a list of email addresses.
func ParseInstallAdmins(list []string) (InstallAdmins, error) {
	var a InstallAdmins
	for _, e := range list {
		e = strings.TrimSpace(e)
		if err := (tenants.UserInput{Email: e, Name: "x", Password: strings.Repeat("x", tenants.MinPasswordLen)}).Check(); err != nil {
			return InstallAdmins{}, errors.New("must be email addresses separated by commas, like root@example.com,ops@example.com")
		}
		if e = strings.ToLower(e); !slices.Contains(a.emails, e) {
			a.emails = append(a.emails, e)
		}
	}
	return a, nil
}

// Emails are the listed addresses, lowercase.
func (a InstallAdmins) Emails() []string { return slices.Clone(a.emails) }

// Listed says whether u's proven address is on the list.
func (a InstallAdmins) Listed(u tenants.User) bool {
	return u.EmailVerified && slices.Contains(a.emails, strings.ToLower(u.Email))
}

// Is says whether u is an install administrator, stored or listed. A
// locked account is none.
func (a InstallAdmins) Is(u tenants.User) bool {
	return u.LockedAt == nil && (u.InstallAdmin || a.Listed(u))
}

// installAdmin says whether the signed-in user of the request is an
// install administrator.
func (c *Console) installAdmin(fc *fiber.Ctx) bool {
	s := me(fc)
	return s != nil && c.cfg.InstallAdmins.Is(s.user)
}

// mayCreateTeams says whether the signed-in user may create a team.
func (c *Console) mayCreateTeams(fc *fiber.Ctx) bool {
	s := me(fc)
	return s != nil && c.cfg.TeamCreators.Allows(s.user, s.session.Groups, c.cfg.InstallAdmins.Is(s.user))
}

// requireInstallAdmin guards the install's pages: anyone else gets the
// same 404 as a page that does not exist.
func (c *Console) requireInstallAdmin(fc *fiber.Ctx) error {
	if !c.installAdmin(fc) {
		return c.notFound(fc)
	}
	return fc.Next()
}
