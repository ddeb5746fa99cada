package app

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/attach-dev/attach-gateway/tenants"
)

// quotaRoutes serve a team's quotas: GET shows them, PUT replaces them
// whole. A limit left out or null is no limit; 0 blocks.
//
//	PUT /admin/v1/teams/{team}/quotas
//	{"team": {"rpm": 600, "monthly_tokens": 5000000},
//	 "users": [{"subject": "*", "tpm": 20000}, {"subject": "alice", "tpm": null}],
//	 "keys": [{"key_id": "…", "rpm": 60}]}
func (a *App) quotaRoutes(r fiber.Router) {
	r.Get("/teams/:team/quotas", a.getQuotas)
	r.Put("/teams/:team/quotas", a.putQuotas)
}

func (a *App) getQuotas(c *fiber.Ctx) error {
	teamID, err := a.teamID(c)
	if err != nil {
		return err
	}
	q, err := a.store.Quotas(c.UserContext(), teamID)
	if err != nil {
		return err
	}
	return c.JSON(quotasOut(q))
}

func (a *App) putQuotas(c *fiber.Ctx) error {
	teamID, wire, err := teamAndInput[quotasWire](a, c)
	if err != nil {
		return err
	}
	in, err := wire.parse()
	if err != nil {
		return err
	}
	q, err := a.store.SetQuotas(c.UserContext(), teamID, in)
	if err != nil {
		return err
	}
	return c.JSON(quotasOut(q))
}

// quotasOut shows empty lists as [] rather than null.
func quotasOut(q *tenants.Quotas) *tenants.Quotas {
	out := *q
	if out.Users == nil {
		out.Users = []tenants.UserLimits{}
	}
	if out.Keys == nil {
		out.Keys = []tenants.KeyLimits{}
	}
	return &out
}

// The body as sent: numbers are read as written, so a negative, fractional
// or absurd limit is answered 422 naming its field rather than a decoding
// error.
type limitsWire struct {
	RPM           *json.Number `json:"rpm"`
	TPM           *json.Number `json:"tpm"`
	TokensPerDay  *json.Number `json:"tokens_per_day"`
	MonthlyTokens *json.Number `json:"monthly_tokens"`
}

type quotasWire struct {
	Team  limitsWire `json:"team"`
	Users []struct {
		Subject string `json:"subject"`
		limitsWire
	} `json:"users"`
	Keys []struct {
		KeyID string `json:"key_id"`
		limitsWire
	} `json:"keys"`
}

func (w quotasWire) parse() (tenants.Quotas, error) {
	var q tenants.Quotas
	var err error
	if q.Team, err = w.Team.parse("team."); err != nil {
		return q, err
	}
	for i, u := range w.Users {
		l, err := u.parse(fmt.Sprintf("users[%d].", i))
		if err != nil {
			return q, err
		}
		q.Users = append(q.Users, tenants.UserLimits{Subject: u.Subject, Limits: l})
	}
	for i, k := range w.Keys {
		l, err := k.parse(fmt.Sprintf("keys[%d].", i))
		if err != nil {
			return q, err
		}
		q.Keys = append(q.Keys, tenants.KeyLimits{KeyID: k.KeyID, Limits: l})
	}
	return q, nil
}

func (w limitsWire) parse(prefix string) (tenants.Limits, error) {
	var l tenants.Limits
	for _, f := range []struct {
		name string
		in   *json.Number
		out  **int64
		max  int64
	}{
		{"rpm", w.RPM, &l.RPM, tenants.MaxRPM},
		{"tpm", w.TPM, &l.TPM, tenants.MaxTokenLimit},
		{"tokens_per_day", w.TokensPerDay, &l.TokensPerDay, tenants.MaxTokenLimit},
		{"monthly_tokens", w.MonthlyTokens, &l.MonthlyTokens, tenants.MaxTokenLimit},
	} {
		if f.in == nil {
			continue
		}
		v, err := tenants.ParseLimit(prefix+f.name, f.in.String(), f.max)
		if err != nil {
			return l, err
		}
		*f.out = v
	}
	return l, nil
}
