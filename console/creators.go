package console

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/attach-dev/attach-gateway/tenants"
)

// TeamCreators says who may create a team from the console. The install
// sets it (ATTACH_TEAM_CREATORS): on a hosted install anyone who can sign
// in through single sign-on would otherwise get a team of their own, and
// with it the gateway's outbound calls. The install's administrators may
// create teams whatever the rule.
type TeamCreators struct {
	// None refuses everyone but the install's administrators: teams are
	// made by them, through the management API or `attach user create
	// --team`.
	None bool
	// Admins admits the install's administrators only. It is None under
	// its own name: what an operator wrote is what String gives back.
	Admins bool
	// Domains, when not empty, admits only users whose verified email
	// address is in one of these domains (lowercase, without "@").
	Domains []string
	// Groups, when not empty, admits only users whose single sign-on
	// session carries one of these groups in the provider's group claim
	// (ATTACH_CONSOLE_OIDC_GROUPS_CLAIM, default "groups"). Compared
	// exactly, case included, as providers send them.
	Groups []string
}

// Everyone is the rule that lets every signed-in user create teams.
var Everyone = TeamCreators{}

// maxGroupName bounds a group name in the rule, as the sessions store
// them.
const maxGroupName = 256

// ParseTeamCreators reads "everyone", "none", "admins",
// "domain:example.com[,other.org]" or "group:name[,other]".
func ParseTeamCreators(s string) (TeamCreators, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "everyone":
		return Everyone, nil
	case "none":
		return TeamCreators{None: true}, nil
	case "admins":
		return TeamCreators{Admins: true}, nil
	}
	if len(s) >= len("group:") && strings.EqualFold(s[:len("group:")], "group:") {
		var t TeamCreators
		for _, g := range strings.Split(s[len("group:"):], ",") {
			g = strings.TrimSpace(g)
			if g == "" || len(g) > maxGroupName || !utf8.ValidString(g) || strings.IndexFunc(g, unicode.IsControl) >= 0 {
				return TeamCreators{}, errors.New("group: needs group names separated by commas, like group:gateway-admins,ml-team")
			}
			if !slices.Contains(t.Groups, g) {
				t.Groups = append(t.Groups, g)
			}
		}
		return t, nil
	}
	rest, ok := strings.CutPrefix(strings.ToLower(s), "domain:")
	if !ok {
		return TeamCreators{}, errors.New(`must be everyone, none, admins, domain:example.com[,other.org] or group:name[,other]`)
	}
	var t TeamCreators
	for _, d := range strings.Split(rest, ",") {
		d = strings.TrimPrefix(strings.TrimSpace(d), "@")
		if !validDomain(d) {
			return TeamCreators{}, errors.New(`domain:` + " needs domain names separated by commas, like domain:example.com,other.org")
		}
		t.Domains = append(t.Domains, d)
	}
	return t, nil
}

// validDomain accepts a DNS name of at least two labels made of letters,
// digits and dashes.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// String writes the rule back in the setting's form.
func (t TeamCreators) String() string {
	switch {
	case t.None:
		return "none"
	case t.Admins:
		return "admins"
	case len(t.Domains) > 0:
		return "domain:" + strings.Join(t.Domains, ",")
	case len(t.Groups) > 0:
		return "group:" + strings.Join(t.Groups, ",")
	}
	return "everyone"
}

// Allows says whether u, signed in with the provider groups of their
// session, may create a team; an install administrator always may. A
// domain rule needs an address the user proved (the IdP's email_verified,
// a bound invite, the setup link): anyone can type an address in a
// sign-up form. A group rule needs a single sign-on session whose ID token
// named the group: a password sign-in has no groups.
func (t TeamCreators) Allows(u tenants.User, groups []string, installAdmin bool) bool {
	switch {
	case installAdmin:
		return true
	case t.None, t.Admins:
		return false
	case len(t.Groups) > 0:
		return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(t.Groups, g) })
	case len(t.Domains) == 0:
		return true
	}
	if !u.EmailVerified {
		return false
	}
	at := strings.LastIndexByte(u.Email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(u.Email[at+1:])
	for _, d := range t.Domains {
		if domain == d {
			return true
		}
	}
	return false
}

// refusal is the plain sentence shown to a user the rule refuses.
func (t TeamCreators) refusal() string {
	switch {
	case t.None, t.Admins:
		return "On this gateway teams are created by the install's administrators. Ask one of them, or a team admin for an invite link."
	case len(t.Groups) > 0:
		which := "the group " + t.Groups[0]
		if len(t.Groups) > 1 {
			which = "one of the groups " + strings.Join(t.Groups, ", ")
		}
		return "On this gateway only members of " + which + " at the sign-in provider can create teams, and only after signing in through it. Ask a team admin for an invite link."
	default:
		return "On this gateway only people with a verified address at " + strings.Join(t.Domains, ", ") + " can create teams. Ask a team admin for an invite link."
	}
}
