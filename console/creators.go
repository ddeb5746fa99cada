package console

import (
	"errors"
	"strings"

	"github.com/attach-dev/attach-gateway/tenants"
)

// TeamCreators says who may create a team from the console. The install
// sets it (ATTACH_TEAM_CREATORS): on a hosted install anyone who can sign
// in through single sign-on would otherwise get a team of their own, and
// with it the gateway's outbound calls.
type TeamCreators struct {
	// None refuses everyone: teams are made only through the management
	// API or `attach user create --team`.
	None bool
	// Domains, when not empty, admits only users whose verified email
	// address is in one of these domains (lowercase, without "@").
	Domains []string
}

// Everyone is the rule that lets every signed-in user create teams.
var Everyone = TeamCreators{}

// ParseTeamCreators reads "everyone", "none" or
// "domain:example.com[,other.org]".
func ParseTeamCreators(s string) (TeamCreators, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "everyone":
		return Everyone, nil
	case "none":
		return TeamCreators{None: true}, nil
	}
	rest, ok := strings.CutPrefix(strings.ToLower(s), "domain:")
	if !ok {
		return TeamCreators{}, errors.New(`must be everyone, none or domain:example.com[,other.org]`)
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
	case len(t.Domains) > 0:
		return "domain:" + strings.Join(t.Domains, ",")
	}
	return "everyone"
}

// Allows says whether u may create a team. A domain rule needs an address
// the user proved (the IdP's email_verified, a bound invite, the setup
// link): anyone can type an address in a sign-up form.
func (t TeamCreators) Allows(u tenants.User) bool {
	if t.None {
		return false
	}
	if len(t.Domains) == 0 {
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
	case t.None:
		return "On this gateway teams are created by the install's administrators. Ask one of them, or a team admin for an invite link."
	default:
		return "On this gateway only people with a verified address at " + strings.Join(t.Domains, ", ") + " can create teams. Ask a team admin for an invite link."
	}
}
