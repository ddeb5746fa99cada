package app

import (
	"context"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// checkExchangeIssuer refuses to make an issuer the team's exchange issuer
// unless its discovery document names a token endpoint and lists the
// token-exchange grant: without them every exchange would fail.
func (a *App) checkExchangeIssuer(ctx context.Context, in tenants.IssuerInput) error {
	if in.Exchange == nil || in.URL == "" {
		return nil
	}
	if err := a.verify.CheckExchange(ctx, in.URL); err != nil {
		return attach.Invalid("exchange", identity.AsError(err).Message)
	}
	return nil
}
