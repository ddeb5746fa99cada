package console

import (
	"net/url"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Editing an exchange issuer in the console, whose form does not show the
// exchange setting, keeps the setting and its secret.
func TestIssuerEditKeepsExchange(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	e := newEnv(t, envOptions{pool: pool})
	idp := oidctest.Start(t, oidctest.Options{})
	u := e.user("gus")
	team := e.team("teal", u)
	b := e.signedIn(u)
	secret := "exchange-secret-in-console-test"
	is, err := e.store.CreateIssuer(testCtx(t), team.ID, tenants.IssuerInput{URL: idp.Issuer(), Audience: "api://teal",
		Exchange: &tenants.IssuerExchangeInput{ClientID: "gateway-exchange", ClientSecret: &secret}})
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, b.post(Base+"/t/teal/issuers/"+is.ID, url.Values{"issuer": {idp.Issuer()}, "audience": {"api://teal"}, "user_claim": {"email"}}),
		Base+"/t/teal/issuers?done=issuer-saved&keys=3")
	got, err := e.store.GetIssuer(testCtx(t), team.ID, is.ID)
	if err != nil || got.UserClaim != "email" || got.Exchange == nil || got.Exchange.ClientID != "gateway-exchange" {
		t.Fatalf("after edit: %+v %+v, %v", got, got.Exchange, err)
	}
	var sealed []byte
	if err := pool.QueryRow(testCtx(t), "SELECT exchange_secret_enc FROM issuers WHERE id = $1", is.ID).Scan(&sealed); err != nil || len(sealed) == 0 {
		t.Fatalf("the secret is gone after the edit: %v", err)
	}
}
