package console

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Limits of one named member or API key, beside the team's and the "every
// user" and "every key" rows: a member or key with a row of its own is held
// to that row instead of the "every" one (tenants.Quotas.User and .Key).

// namedLimit is one such row as the page shows it.
type namedLimit struct {
	Target string // "u:SUBJECT" or "k:KEY-ID": the form's value for it
	Name   string // the member's or key's name
	Kind   string // "User" or "API key"
	Limits string // limitWords
}

// limitTarget is someone a row can be set for: a member or a live key.
type limitTarget struct {
	Value, Label string
}

// namedLimits lists q's named rows and who else could get one.
func (c *Console) namedLimits(ctx context.Context, teamID string, q *tenants.Quotas) ([]namedLimit, []limitTarget, error) {
	members, err := c.store.ListMembers(ctx, teamID)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var targets []limitTarget
	for _, m := range members {
		v := "u:" + attach.UserSubject(m.User.ID)
		names[v] = userName(m.User)
		targets = append(targets, limitTarget{v, "Member " + userName(m.User)})
	}
	keys, _, err := c.store.ListAPIKeys(ctx, teamID, tenants.Page{Limit: 200})
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		v := "k:" + k.ID
		names[v] = k.Name
		if keyStatus(k) == "active" {
			targets = append(targets, limitTarget{v, "API key " + k.Name})
		}
	}
	var rows []namedLimit
	for _, u := range q.Users {
		if u.Subject != tenants.Any {
			rows = append(rows, namedLimit{Target: "u:" + u.Subject, Name: nameOr(names, "u:"+u.Subject, u.Subject), Kind: "User", Limits: limitWords(u.Limits)})
		}
	}
	for _, k := range q.Keys {
		if k.KeyID != tenants.Any {
			rows = append(rows, namedLimit{Target: "k:" + k.KeyID, Name: nameOr(names, "k:"+k.KeyID, k.KeyID), Kind: "API key", Limits: limitWords(k.Limits)})
		}
	}
	return rows, targets, nil
}

func nameOr(names map[string]string, k, fallback string) string {
	if n, ok := names[k]; ok {
		return n
	}
	return fallback
}

// setNamedLimits sets (or, with every field empty, removes) the row of one
// member or key, keeping every other row.
func (c *Console) setNamedLimits(fc *fiber.Ctx) error {
	t := current(fc)
	ctx := fc.UserContext()
	q, err := c.store.Quotas(ctx, t.team.ID)
	if err != nil {
		return c.storeFail(fc, "read quotas", err)
	}
	target := form(fc, "target")
	_, targets, err := c.namedLimits(ctx, t.team.ID, q)
	if err != nil {
		return c.storeFail(fc, "list members and keys", err)
	}
	errs := formErrors{}
	known := slices.ContainsFunc(targets, func(x limitTarget) bool { return x.Value == target })
	if !known {
		errs.add("target", "Choose a member or an active API key of this team.")
	}
	var l tenants.Limits
	values := map[string]string{"target": target}
	for _, k := range limitKinds {
		name := "named_" + k.Name
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
	if len(errs) > 0 {
		return c.renderLimits(fc, fiber.StatusUnprocessableEntity, q, limitsView{Values: storedValues(q), NamedValues: values, NamedErrors: errs})
	}
	if err := c.saveNamed(fc, t.team.ID, q, target, l); err != nil {
		return err
	}
	return seeOther(fc, teamURL(t.team.Slug, "/limits?done=limits-saved"))
}

// removeNamedLimits removes the row of one member or key.
func (c *Console) removeNamedLimits(fc *fiber.Ctx) error {
	t := current(fc)
	q, err := c.store.Quotas(fc.UserContext(), t.team.ID)
	if err != nil {
		return c.storeFail(fc, "read quotas", err)
	}
	if err := c.saveNamed(fc, t.team.ID, q, form(fc, "target"), tenants.Limits{}); err != nil {
		return err
	}
	return seeOther(fc, teamURL(t.team.Slug, "/limits?done=limits-saved"))
}

// saveNamed stores q with target's row replaced by l (removed when l sets
// nothing).
func (c *Console) saveNamed(fc *fiber.Ctx, teamID string, q *tenants.Quotas, target string, l tenants.Limits) error {
	in := tenants.Quotas{Team: q.Team}
	subject, isUser := strings.CutPrefix(target, "u:")
	keyID, isKey := strings.CutPrefix(target, "k:")
	for _, u := range q.Users {
		if !(isUser && u.Subject == subject) {
			in.Users = append(in.Users, u)
		}
	}
	for _, k := range q.Keys {
		if !(isKey && k.KeyID == keyID) {
			in.Keys = append(in.Keys, k)
		}
	}
	if l.Any() {
		switch {
		case isUser:
			in.Users = append(in.Users, tenants.UserLimits{Subject: subject, Limits: l})
		case isKey:
			in.Keys = append(in.Keys, tenants.KeyLimits{KeyID: keyID, Limits: l})
		}
	}
	if _, err := c.store.SetQuotas(c.actor(fc), teamID, in); err != nil {
		return c.storeFail(fc, "save quotas", err)
	}
	return nil
}
