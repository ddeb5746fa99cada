package app

import (
	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// The management API's DID sign-in policy of a team,
// /admin/v1/teams/{team}/did-policy: which DID methods the team trusts, the
// only DIDs that may call (empty: any DID of a trusted method) and the
// audiences a DID-JWT may carry besides the team's gateway URL. PUT
// replaces the whole policy; {"methods":[]} stops accepting DID-JWTs.
func (a *App) didPolicyRoutes(r fiber.Router) {
	const path = "/teams/:team/did-policy"
	r.Get(path, a.getDIDPolicy)
	r.Put(path, a.putDIDPolicy)
}

func (a *App) getDIDPolicy(c *fiber.Ctx) error {
	id, err := a.teamID(c)
	if err != nil {
		return err
	}
	p, err := a.store.GetDIDPolicy(c.UserContext(), id)
	return found(c, p, err)
}

func (a *App) putDIDPolicy(c *fiber.Ctx) error {
	id, in, err := teamAndInput[attach.DIDPolicy](a, c)
	if err != nil {
		return err
	}
	p, err := a.store.PutDIDPolicy(c.UserContext(), id, in)
	return found(c, p, err)
}
