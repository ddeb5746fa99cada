package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// chrome is what the layout around every page needs: who is signed in, the
// team being looked at, and the token the page's forms must carry.
type chrome struct {
	Title   string
	User    *tenants.User // nil when signed out
	CSRF    string        // the session's token; "" when signed out
	Team    *attach.Team  // nil outside a team's pages
	Role    tenants.Role
	Teams   []tenants.Membership // the team switcher
	Section string               // the team page shown, for the navigation
	Notice  string               // what the last action did
	Scripts []string             // page scripts beyond console.js
	// MayCreateTeams: the install lets this user create teams
	// (ATTACH_TEAM_CREATORS), so the switcher offers it.
	MayCreateTeams bool
	// InstallAdmin: the user is one of the install's administrators, so
	// the switcher links to the install's pages.
	InstallAdmin bool
	// Visiting: an install administrator looks at a team they are not a
	// member of.
	Visiting bool
}

func (c *Console) chrome(fc *fiber.Ctx, title string) chrome {
	ch := chrome{Title: title, Notice: notice(fc)}
	if s := me(fc); s != nil {
		u := s.user
		ch.User = &u
		ch.CSRF = s.session.CSRF
		ch.MayCreateTeams = c.mayCreateTeams(fc)
		ch.InstallAdmin = c.installAdmin(fc)
	}
	if t := current(fc); t != nil {
		team := t.team
		ch.Team = &team
		ch.Role = t.role
		ch.Teams = t.teams
		ch.Visiting = t.visiting
	}
	return ch
}

// teamChrome is chrome for one of the team's sections.
func (c *Console) teamChrome(fc *fiber.Ctx, title, section string) chrome {
	ch := c.chrome(fc, title)
	ch.Section = section
	return ch
}

// notices are what a redirect after a successful POST says it did. Only a
// code travels in the URL, so nothing a user typed is echoed from it.
var notices = map[string]string{
	"welcome":            "Welcome! Create your first team to get started.",
	"welcome-owner":      "Welcome! You own this install's default team: register an engine under Engines to try it. Install administration (in the team menu) lists every team and user.",
	"signed-out":         "You are signed out.",
	"team-created":       "Team created. Register an engine next, so agents have something to call.",
	"team-renamed":       "Team renamed.",
	"limits-saved":       "Limits saved. Every replica applies them within moments.",
	"engine-cookies-on":  "This team's engines may now set cookies on its clients.",
	"engine-cookies-off": "Cookies set by this team's engines are now dropped.",
	"team-deleted":       "Team deleted.",
	"joined":             "You joined the team.",
	"engine-created":     "Engine registered.",
	"engine-saved":       "Engine saved.",
	"engine-deleted":     "Engine deleted.",
	"engine-imported":    "Models imported: the engine's list now holds every model it serves.",
	"engine-up-to-date":  "Nothing to import: the engine's list already holds every model it serves.",
	"agent-created":      "Agent registered.",
	"agent-saved":        "Agent saved.",
	"agent-deleted":      "Agent deleted.",
	"mcp-server-created": "MCP server registered.",
	"mcp-server-saved":   "MCP server saved.",
	"mcp-server-deleted": "MCP server deleted.",
	"issuer-deleted":     "Issuer deleted.",
	"did-saved":          "DID sign-in saved. The gateway applies it within seconds.",
	"key-revoked":        "API key revoked. It stops working within seconds.",
	"invite-revoked":     "Invite revoked.",
	"role-changed":       "Role changed.",
	"member-removed":     "Member removed.",
	"already-member":     "You are already a member of this team.",
	"issuer-no-check":    "Issuer saved.",
	"name-saved":         "Name saved.",
	"password-changed":   "Password changed. Every other session of yours is signed out.",
	"session-ended":      "Session ended: that browser is signed out.",
	"sessions-ended":     "Every other session of yours is signed out.",
	"team-left":          "You left the team.",
	"user-locked":        "User locked: they are signed out everywhere and cannot sign in.",
	"user-unlocked":      "User unlocked: they can sign in again.",
	"user-removed":       "User removed from the install.",
	"install-admin-on":   "The user is now an install administrator.",
	"install-admin-off":  "The user is no longer an install administrator (unless ATTACH_INSTALL_ADMINS names their address).",
}

func notice(fc *fiber.Ctx) string {
	done := fc.Query("done")
	if done == "issuer-saved" {
		// The number of keys found is the one value carried along; it is
		// read as a number, never echoed as text.
		n, err := strconv.Atoi(fc.Query("keys"))
		if err != nil || n < 0 {
			return notices["issuer-no-check"]
		}
		return "Issuer saved: found " + plural(n, "signing key", "signing keys") + "."
	}
	return notices[done]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
