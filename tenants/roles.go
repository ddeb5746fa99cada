package tenants

import (
	"strings"

	attach "github.com/attach-dev/attach-gateway"
)

// Role is what a user may do in one team.
type Role string

// Roles from the most to the least powerful.
const (
	// RoleOwner can do everything, including deleting the team and making
	// or unmaking other owners. A team always keeps at least one.
	RoleOwner Role = "owner"
	// RoleAdmin manages the team: engines, issuers, API keys, invites and
	// members below owner.
	RoleAdmin Role = "admin"
	// RoleMember uses the team's gateway and sees its configuration.
	RoleMember Role = "member"
	// RoleViewer sees the team's configuration and nothing more.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first, for pickers.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

// ParseRole reads a role name; anything else is attach.CodeInvalid.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", attach.Invalid("role", "must be owner, admin, member or viewer")
	}
	return r, nil
}

// Valid tells whether r is one of the four roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// rank orders roles: owner 4 ... viewer 1, anything else 0.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast tells whether r is want or a more powerful role.
func (r Role) AtLeast(want Role) bool { return r.Valid() && r.rank() >= want.rank() }

// CanView: see the team's configuration (never secrets). Every role.
func (r Role) CanView() bool { return r.Valid() }

// CanUseGateway: call the team's gateway from the console (the chat page).
func (r Role) CanUseGateway() bool { return r.AtLeast(RoleMember) }

// CanManageTeam: engines, issuers, API keys, invites and members.
func (r Role) CanManageTeam() bool { return r.AtLeast(RoleAdmin) }

// CanEditTeam: the team's name and settings.
func (r Role) CanEditTeam() bool { return r.AtLeast(RoleAdmin) }

// CanViewAudit: read the team's audit log.
func (r Role) CanViewAudit() bool { return r.AtLeast(RoleAdmin) }

// CanDeleteTeam: owners only.
func (r Role) CanDeleteTeam() bool { return r == RoleOwner }

// CanAssign tells whether someone with role r may change a member (or an
// invite) from role from to role to; from is "" for someone new. Owners may
// do anything; admins may manage everyone below owner and may neither make
// an owner nor touch one.
func (r Role) CanAssign(from, to Role) bool {
	if !to.Valid() || (from != "" && !from.Valid()) {
		return false
	}
	switch r {
	case RoleOwner:
		return true
	case RoleAdmin:
		return from != RoleOwner && to != RoleOwner
	}
	return false
}

// roleRankSQL is the SQL for the rank of the role in column (a constant):
// the same order as Role.rank.
func roleRankSQL(column string) string {
	return "array_position(ARRAY['viewer', 'member', 'admin', 'owner'], " + column + ")"
}

// higher returns the more powerful of a and b.
func higher(a, b Role) Role {
	if b.rank() > a.rank() {
		return b
	}
	return a
}
