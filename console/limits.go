package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/attach-dev/attach-gateway/tenants"
)

// The Limits page: the team's quotas (requests per minute, tokens per
// minute, per day, per month) for the whole team, for every user and for
// every API key; and those of one named member or key (limits_named.go).

// limitScope is one row of the form: the team, every user, or every key.
type limitScope struct {
	Name  string // team, user, key: the prefix of its inputs' names
	Title string
	Help  string
}

var limitScopes = []limitScope{
	{"team", "The whole team", "Everything the team's members, agents and keys send, together."},
	{"user", "Each user", "Every caller on its own (a person, an agent acting for one, a DID), unless it has limits of its own (below)."},
	{"key", "Each API key", "Every gateway API key on its own, besides its user's limits."},
}

// limitKind is one column: a limit and its name in forms and the API.
type limitKind struct {
	Name  string // rpm, tpm, tokens_per_day, monthly_tokens
	Label string
	Max   int64
}

var limitKinds = []limitKind{
	{"rpm", "Requests per minute", tenants.MaxRPM},
	{"tpm", "Tokens per minute", tenants.MaxTokenLimit},
	{"tokens_per_day", "Tokens per day", tenants.MaxTokenLimit},
	{"monthly_tokens", "Tokens per month", tenants.MaxTokenLimit},
}

type limitsView struct {
	CanEdit bool
	// Values are the inputs as shown, by input name ("user_tpm"): the
	// stored limits, or what was typed when the form is shown again.
	Values map[string]string
	Errors formErrors
	// Rows are the members and keys with limits of their own; Targets
	// who can be given some; NamedValues and NamedErrors the form that
	// sets them, as typed.
	Rows        []namedLimit
	Targets     []limitTarget
	NamedValues map[string]string
	NamedErrors formErrors
}

// limitInput is the name of the input of scope s and kind k.
func limitInput(s limitScope, k limitKind) string { return s.Name + "_" + k.Name }

// limitsOf reads the three scopes' limits out of q.
func limitsOf(q *tenants.Quotas) map[string]tenants.Limits {
	out := map[string]tenants.Limits{"team": q.Team}
	for _, u := range q.Users {
		if u.Subject == tenants.Any {
			out["user"] = u.Limits
		}
	}
	for _, k := range q.Keys {
		if k.KeyID == tenants.Any {
			out["key"] = k.Limits
		}
	}
	return out
}

func limitField(l *tenants.Limits, k string) **int64 {
	switch k {
	case "rpm":
		return &l.RPM
	case "tpm":
		return &l.TPM
	case "tokens_per_day":
		return &l.TokensPerDay
	default:
		return &l.MonthlyTokens
	}
}

func (c *Console) limitsPage(fc *fiber.Ctx) error {
	q, err := c.store.Quotas(fc.UserContext(), current(fc).team.ID)
	if err != nil {
		return c.storeFail(fc, "read quotas", err)
	}
	return c.renderLimits(fc, fiber.StatusOK, q, limitsView{Values: storedValues(q)})
}

// storedValues are the form's inputs as q has them.
func storedValues(q *tenants.Quotas) map[string]string {
	values := map[string]string{}
	for scope, l := range limitsOf(q) {
		for _, k := range limitKinds {
			if v := *limitField(&l, k.Name); v != nil {
				values[scope+"_"+k.Name] = strconv.FormatInt(*v, 10)
			}
		}
	}
	return values
}

func (c *Console) renderLimits(fc *fiber.Ctx, status int, q *tenants.Quotas, v limitsView) error {
	v.CanEdit = current(fc).role.CanEditTeam()
	var err error
	if v.Rows, v.Targets, err = c.namedLimits(fc.UserContext(), current(fc).team.ID, q); err != nil {
		return c.storeFail(fc, "list members and keys", err)
	}
	if v.NamedValues == nil {
		v.NamedValues = map[string]string{}
	}
	return render(fc, status, limitsPage(c.teamChrome(fc, "Limits", "limits"), v))
}

// saveLimits replaces the team's, every user's and every key's limits with
// the form's, keeping the limits of named users and keys.
func (c *Console) saveLimits(fc *fiber.Ctx) error {
	t := current(fc)
	q, err := c.store.Quotas(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.storeFail(fc, "read quotas", err)
	}
	values, errs := map[string]string{}, formErrors{}
	parsed := map[string]tenants.Limits{}
	for _, s := range limitScopes {
		var l tenants.Limits
		for _, k := range limitKinds {
			name := limitInput(s, k)
			values[name] = form(fc, name)
			v, err := tenants.ParseLimit(name, values[name], k.Max)
			if err != nil {
				fe, _ := asFormErrors(err)
				for f, m := range fe {
					errs.add(f, m)
				}
				continue
			}
			*limitField(&l, k.Name) = v
		}
		parsed[s.Name] = l
	}
	if len(errs) > 0 {
		return c.renderLimits(fc, fiber.StatusUnprocessableEntity, q, limitsView{Values: values, Errors: errs})
	}
	in := tenants.Quotas{Team: parsed["team"]}
	if l := parsed["user"]; l.Any() {
		in.Users = append(in.Users, tenants.UserLimits{Subject: tenants.Any, Limits: l})
	}
	for _, u := range q.Users {
		if u.Subject != tenants.Any {
			in.Users = append(in.Users, u)
		}
	}
	if l := parsed["key"]; l.Any() {
		in.Keys = append(in.Keys, tenants.KeyLimits{KeyID: tenants.Any, Limits: l})
	}
	for _, k := range q.Keys {
		if k.KeyID != tenants.Any {
			in.Keys = append(in.Keys, k)
		}
	}
	if _, err := c.store.SetQuotas(c.actor(fc), t.team.ID, in); err != nil {
		return c.storeFail(fc, "save quotas", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/limits?done=limits-saved"))
}
