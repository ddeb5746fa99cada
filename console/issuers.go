package console

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// An issuer is saved only when its discovery document and keys can be
// fetched: saving one that cannot be reached would make the gateway refuse
// every token of the team's agents, which is worse than a form that says
// why it did not save.

const issuerCheckTimeout = 15 * time.Second

func (c *Console) issuersPage(fc *fiber.Ctx) error {
	card, err := c.didCard(fc)
	if err != nil {
		return c.storeFail(fc, "get DID policy", err)
	}
	return c.renderIssuers(fc, fiber.StatusOK, card)
}

// renderIssuers shows the team's issuers with the DID sign-in card.
func (c *Console) renderIssuers(fc *fiber.Ctx, status int, card didCardView) error {
	t := current(fc)
	page := listPage(fc)
	list, next, err := c.store.ListIssuers(fc.UserContext(), t.team.ID, page)
	if err != nil {
		return c.listFail(fc, "list issuers", err)
	}
	v := issuersView{Issuers: list, Next: next, Paged: page.After != "", CanEdit: t.role.CanManageTeam(), DID: card}
	return render(fc, status, issuersPage(c.teamChrome(fc, "Issuers", "issuers"), v))
}

func (c *Console) newIssuerPage(fc *fiber.Ctx) error {
	return c.renderIssuerForm(fc, fiber.StatusOK, issuerFormView{})
}

func (c *Console) renderIssuerForm(fc *fiber.Ctx, status int, v issuerFormView) error {
	return render(fc, status, issuerFormPage(c.teamChrome(fc, "Issuer", "issuers"), v))
}

func issuerForm(fc *fiber.Ctx) (tenants.IssuerInput, issuerFormView) {
	in := tenants.IssuerInput{URL: form(fc, "issuer"), Audience: form(fc, "audience"), UserClaim: form(fc, "user_claim")}
	return in, issuerFormView{URL: in.URL, Audience: in.Audience, UserClaim: in.UserClaim}
}

// checkIssuer runs the checks that come before saving: the fields a person
// must fill and the store's rules for all of them, the network policy, then
// the provider itself. It returns the input to save: the issuer URL as the
// provider's discovery document writes it, which may differ from the one
// typed by a trailing slash.
func (c *Console) checkIssuer(ctx context.Context, in tenants.IssuerInput) (tenants.IssuerInput, int, formErrors) {
	fe := formErrors{}
	if in.URL == "" {
		fe.add("issuer", "Enter the issuer URL")
	}
	if in.Audience == "" {
		fe.add("audience", "Enter the audience your tokens carry")
	}
	fe.merge(checkAll(in, tenants.IssuerInput.Check, map[string]func(*tenants.IssuerInput){
		"issuer":     func(in *tenants.IssuerInput) { in.URL = "https://issuer.invalid" },
		"audience":   func(in *tenants.IssuerInput) { in.Audience = "audience" },
		"algorithms": func(in *tenants.IssuerInput) { in.Algorithms = nil },
		"user_claim": func(in *tenants.IssuerInput) { in.UserClaim = "" },
	}))
	if fe["issuer"] == "" {
		fe.merge(c.checkURL(ctx, "issuer", in.URL))
	}
	if fe["issuer"] != "" {
		return in, 0, fe
	}
	// The provider is asked even when another field is wrong, so its
	// answer shows with the other errors.
	ctx, cancel := context.WithTimeout(ctx, issuerCheckTimeout)
	defer cancel()
	issuer, keys, err := c.probe.CheckIssuer(ctx, in.URL)
	if err != nil {
		fe.add("issuer", "Not saved: "+err.Error())
	} else {
		in.URL = issuer
	}
	return in, keys, fe.orNil()
}

func (c *Console) createIssuer(fc *fiber.Ctx) error {
	t := current(fc)
	in, v := issuerForm(fc)
	in, keys, fe := c.checkIssuer(fc.UserContext(), in)
	if fe != nil {
		v.Errors = fe
		return c.renderIssuerForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.store.CreateIssuer(c.actor(fc), t.team.ID, in); err != nil {
		return c.issuerSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/issuers?done=issuer-saved&keys="+strconv.Itoa(keys)))
}

func (c *Console) issuerSaveFailed(fc *fiber.Ctx, v issuerFormView, err error) error {
	if fe, status, ok := saveRefused(err, "audience", "The team trusts this issuer for this audience already"); ok {
		v.Errors = fe
		return c.renderIssuerForm(fc, status, v)
	}
	return c.storeFail(fc, "save issuer", err)
}

func (c *Console) issuerPage(fc *fiber.Ctx) error {
	is, err := c.store.GetIssuer(fc.UserContext(), current(fc).team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get issuer", err)
	}
	return c.renderIssuerForm(fc, fiber.StatusOK, issuerFormView{Issuer: &is, URL: is.URL, Audience: is.Audience, UserClaim: is.UserClaim})
}

func (c *Console) updateIssuer(fc *fiber.Ctx) error {
	t := current(fc)
	cur, err := c.store.GetIssuer(fc.UserContext(), t.team.ID, fc.Params("id"))
	if err != nil {
		return c.storeFail(fc, "get issuer", err)
	}
	in, v := issuerForm(fc)
	v.Issuer = &cur
	in.Algorithms = cur.Algorithms // not on the form: kept as set through the API
	if cur.Exchange != nil {       // nor is the exchange setting; no secret keeps the stored one
		in.Exchange = &tenants.IssuerExchangeInput{ClientID: cur.Exchange.ClientID}
	}
	in, keys, fe := c.checkIssuer(fc.UserContext(), in)
	if fe != nil {
		v.Errors = fe
		return c.renderIssuerForm(fc, fiber.StatusUnprocessableEntity, v)
	}
	if _, err := c.store.UpdateIssuer(c.actor(fc), t.team.ID, cur.ID, in); err != nil {
		return c.issuerSaveFailed(fc, v, err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/issuers?done=issuer-saved&keys="+strconv.Itoa(keys)))
}

func (c *Console) deleteIssuer(fc *fiber.Ctx) error {
	t := current(fc)
	if err := c.store.DeleteIssuer(c.actor(fc), t.team.ID, fc.Params("id")); err != nil {
		return c.storeFail(fc, "delete issuer", err)
	}
	return seeOther(fc, teamURL(t.team.Slug, "/issuers?done=issuer-deleted"))
}

func issuerFormAction(ch chrome, is *attach.Issuer) string {
	if is == nil {
		return teamURL(ch.Team.Slug, "/issuers")
	}
	return teamURL(ch.Team.Slug, "/issuers/"+is.ID)
}
