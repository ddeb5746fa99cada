package console

import (
	"mime"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The DID sign-in card of the Issuers page: which DID methods the team
// trusts for DID-JWTs, the only DIDs that may call (empty: any DID of a
// trusted method) and the audiences a token may carry besides the team's
// gateway URL. The store checks and cleans the policy (tenants.CleanDIDPolicy)
// and audits the change; the card shows its refusals next to the field.

// didCardView is the card as the page shows it: the policy as stored, or,
// after a refused save, as the admin typed it with what is wrong.
type didCardView struct {
	Methods   []string // trusted methods ("key", "pkh", "web")
	Allow     string   // one DID a line
	Audiences string   // one URL a line
	// Stored is the policy in force, for the summary beside the form.
	Stored  attach.DIDPolicy
	Errors  formErrors
	CanEdit bool
	// GatewayURL is the aud every DID-JWT for the team may carry.
	GatewayURL string
}

// didCard is the card for the team's stored policy.
func (c *Console) didCard(fc *fiber.Ctx) (didCardView, error) {
	t := current(fc)
	p, err := c.store.GetDIDPolicy(fc.UserContext(), t.team.ID)
	if err != nil {
		return didCardView{}, err
	}
	return didCardView{
		Methods: p.Methods, Allow: strings.Join(p.Allow, "\n"), Audiences: strings.Join(p.Audiences, "\n"),
		Stored: p, CanEdit: t.role.CanManageTeam(), GatewayURL: c.hostedURL(t.team.Slug),
	}, nil
}

// saveDIDPolicy replaces the team's DID policy with the form's. A refused
// policy stores nothing and comes back on the page with the field at fault.
func (c *Console) saveDIDPolicy(fc *fiber.Ctx) error {
	t := current(fc)
	in := attach.DIDPolicy{
		Methods:   formValues(fc, "methods"),
		Allow:     lines(fc.FormValue("allow")),
		Audiences: lines(fc.FormValue("audiences")),
	}
	check := func(p attach.DIDPolicy) error { _, err := tenants.CleanDIDPolicy(p); return err }
	fe := checkAll(in, check, map[string]func(*attach.DIDPolicy){
		// Every method trusted, so the allowed DIDs are checked on their own.
		"methods":   func(p *attach.DIDPolicy) { p.Methods = slices.Clone(tenants.DIDMethods) },
		"allow":     func(p *attach.DIDPolicy) { p.Allow = nil },
		"audiences": func(p *attach.DIDPolicy) { p.Audiences = nil },
	})
	if len(fe) == 0 {
		_, err := c.store.PutDIDPolicy(c.actor(fc), t.team.ID, in)
		if err == nil {
			return seeOther(fc, teamURL(t.team.Slug, "/issuers?done=did-saved"))
		}
		var ok bool
		if fe, ok = asFormErrors(err); !ok {
			return c.storeFail(fc, "save DID policy", err)
		}
	}
	card, err := c.didCard(fc)
	if err != nil {
		return c.storeFail(fc, "get DID policy", err)
	}
	card.Methods, card.Errors = in.Methods, fe
	card.Allow, card.Audiences = fc.FormValue("allow"), fc.FormValue("audiences")
	return c.renderIssuers(fc, fiber.StatusUnprocessableEntity, card)
}

// lines splits a textarea into its non-empty lines, trimmed.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formValues is every value of a repeated form field (checkboxes of one
// name), in the order sent.
func formValues(fc *fiber.Ctx, name string) []string {
	var out []string
	if mt, _, _ := mime.ParseMediaType(fc.Get(fiber.HeaderContentType)); mt == fiber.MIMEMultipartForm {
		if f, err := fc.MultipartForm(); err == nil {
			out = append(out, f.Value[name]...)
		}
		return out
	}
	for _, v := range fc.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

// didMethodLabel is a method as people write it: did:key.
func didMethodLabel(m string) string { return "did:" + m }

func hasMethod(methods []string, m string) bool { return slices.Contains(methods, m) }

// didMethodsList names the trusted methods, or says none are.
func didMethodsList(methods []string) string {
	if len(methods) == 0 {
		return "none: DID-JWTs are refused"
	}
	labels := make([]string, len(methods))
	for i, m := range methods {
		labels[i] = didMethodLabel(m)
	}
	return strings.Join(labels, ", ")
}

// didMethodChoices are the methods the card offers, in the store's order.
func didMethodChoices() []string { return tenants.DIDMethods }
