package console

import (
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

const localTeam = "console.team"

// teamCtx is the team a /t/:team page is about and what the signed-in user
// may do in it.
type teamCtx struct {
	team  attach.Team
	role  tenants.Role
	teams []tenants.Membership // all the user's teams, for the switcher
	// visiting: the user is an install administrator who is not a member;
	// they act as an owner would, and join to call the team's gateway.
	visiting bool
}

func current(fc *fiber.Ctx) *teamCtx {
	t, _ := fc.Locals(localTeam).(*teamCtx)
	return t
}

// loadTeam finds the team of the URL among the user's own. A team the user
// is not a member of answers 404, exactly as one that does not exist, so
// slugs of other teams cannot be probed. An install administrator opens
// every team, the default one included, which has no members of its own:
// they manage it as an owner would (visiting).
func (c *Console) loadTeam(fc *fiber.Ctx) error {
	s := me(fc)
	ms, err := c.store.TeamsOf(fc.UserContext(), s.user.ID)
	if err != nil {
		return c.internal(fc, "list teams", err)
	}
	slug := fc.Params("team")
	for _, m := range ms {
		if m.Team.Slug == slug {
			fc.Locals(localTeam, &teamCtx{team: m.Team, role: m.Role, teams: ms})
			return fc.Next()
		}
	}
	if c.installAdmin(fc) {
		team, err := c.store.GetTeam(fc.UserContext(), slug)
		switch {
		case err == nil:
			fc.Locals(localTeam, &teamCtx{team: team, role: tenants.RoleOwner, teams: ms, visiting: true})
			return fc.Next()
		case attach.ErrorCode(err) != attach.CodeNotFound:
			return c.internal(fc, "get team", err)
		}
	}
	return c.notFound(fc)
}

// need is what an action takes of the user's role. The rules are the
// store's (tenants.Role's methods), so the console and the management API
// cannot disagree on them.
type need func(tenants.Role) bool

var (
	needUse    need = tenants.Role.CanUseGateway
	needManage need = tenants.Role.CanManageTeam
	needEdit   need = tenants.Role.CanEditTeam
	needAudit  need = tenants.Role.CanViewAudit
	needDelete need = tenants.Role.CanDeleteTeam
)

// allow guards a route: a role short of n gets 403 and nothing changes.
func (c *Console) allow(n need, refusal string) fiber.Handler {
	return func(fc *fiber.Ctx) error {
		t := current(fc)
		if t == nil || !n(t.role) {
			return c.forbidden(fc, refusal)
		}
		if t.visiting && refusal == refuseUse {
			// The gateway vouches for members only (console tokens follow
			// the membership), so a visitor joins first.
			return c.forbidden(fc, refuseVisitor)
		}
		return fc.Next()
	}
}

// Refusals, in words for the person who tried.
const (
	refuseUse     = "Viewers cannot call the team's engines. Ask an admin for the member role."
	refuseManage  = "Your role cannot change this team's settings. Ask an admin or an owner."
	refuseAudit   = "Only admins and owners can read the audit log."
	refuseDelete  = "Only an owner can delete the team."
	refuseOwners  = "Only an owner can make, unmake or remove owners."
	refuseVisitor = "You are not a member of this team. Join it (the button at the top of its pages) to call its gateway."
)

// roleChoices lists the roles a user with role r may hand out, least
// powerful first.
func roleChoices(r tenants.Role) []tenants.Role {
	var out []tenants.Role
	for i := len(tenants.Roles) - 1; i >= 0; i-- {
		if r.CanAssign("", tenants.Roles[i]) {
			out = append(out, tenants.Roles[i])
		}
	}
	return out
}

// canUse says whether the user may call the team's gateway from the
// console: a member whose role allows it, not a visiting administrator.
func (t *teamCtx) canUse() bool { return !t.visiting && t.role.CanUseGateway() }
