package tenants

import (
	"encoding/json"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

const exchangeSecret = "exchange-client-secret-8765"

// storedExchangeSecret reads an issuer's sealed client secret and opens it
// the way the directory does.
func storedExchangeSecret(t *testing.T, s *Store, id string) (sealed []byte, plain string) {
	t.Helper()
	if err := s.pool.QueryRow(testCtx(t), "SELECT exchange_secret_enc FROM issuers WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed == nil {
		return nil, ""
	}
	p, err := s.sealer.Open(sealed, issuerExchangeAD(id))
	if err != nil {
		t.Fatalf("open stored secret: %v", err)
	}
	return sealed, string(p)
}

// An issuer marked as the team's exchange issuer keeps its client id in the
// clear and its secret sealed to the row; the secret is never in what the
// store returns, in JSON, or in the audit log; an update without a secret
// keeps it, one without the setting removes it; a team has at most one.
func TestIssuerExchangeSetting(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	ctx = WithActor(ctx, Actor{Name: "admin token"}) // changes are audited
	in := IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw",
		Exchange: &IssuerExchangeInput{ClientID: " gateway ", ClientSecret: ptr(exchangeSecret)}}
	is, err := s.CreateIssuer(ctx, team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if is.Exchange == nil || is.Exchange.ClientID != "gateway" || is.Exchange.ClientSecret != "" {
		t.Fatalf("created exchange = %+v", is.Exchange)
	}
	sealed, plain := storedExchangeSecret(t, s, is.ID)
	if plain != exchangeSecret || strings.Contains(string(sealed), exchangeSecret) {
		t.Fatalf("stored secret = %q (sealed %d bytes)", plain, len(sealed))
	}
	b, _ := json.Marshal(is)
	if strings.Contains(string(b), exchangeSecret) || !strings.Contains(string(b), `"exchange":{"client_id":"gateway"}`) {
		t.Fatalf("JSON = %s", b)
	}

	// A second exchange issuer of the team is refused, naming the field.
	_, err = s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:4000", Audience: "gw",
		Exchange: &IssuerExchangeInput{ClientID: "x", ClientSecret: ptr("y")}})
	if e := attach.AsError(err); e == nil || e.Code != attach.CodeInvalid || e.Field != "exchange" {
		t.Fatalf("second exchange issuer: err = %v", err)
	}

	// Update without a secret keeps it.
	in.Exchange = &IssuerExchangeInput{ClientID: "gateway-2"}
	upd, err := s.UpdateIssuer(ctx, team.ID, is.ID, in)
	if err != nil || upd.Exchange == nil || upd.Exchange.ClientID != "gateway-2" {
		t.Fatalf("UpdateIssuer = %+v, %v", upd, err)
	}
	if _, p := storedExchangeSecret(t, s, is.ID); p != exchangeSecret {
		t.Fatalf("secret after update without one = %q", p)
	}
	got, err := s.GetIssuer(ctx, team.ID, is.ID)
	if err != nil || got.Exchange == nil || got.Exchange.ClientID != "gateway-2" || got.Exchange.ClientSecret != "" {
		t.Fatalf("GetIssuer = %+v, %v", got.Exchange, err)
	}
	// Update without the setting removes it, secret and all.
	in.Exchange = nil
	if upd, err = s.UpdateIssuer(ctx, team.ID, is.ID, in); err != nil || upd.Exchange != nil {
		t.Fatalf("UpdateIssuer without exchange = %+v, %v", upd, err)
	}
	if sealed, _ := storedExchangeSecret(t, s, is.ID); sealed != nil {
		t.Fatal("the secret outlived the setting")
	}
	// Turning it on again needs a secret.
	in.Exchange = &IssuerExchangeInput{ClientID: "gateway"}
	_, err = s.UpdateIssuer(ctx, team.ID, is.ID, in)
	if e := attach.AsError(err); e == nil || e.Field != "exchange.client_secret" {
		t.Fatalf("exchange without any secret: err = %v", err)
	}
	// EnsureIssuer (the side-car's environment) leaves the setting alone.
	in.Exchange = &IssuerExchangeInput{ClientID: "gateway", ClientSecret: ptr(exchangeSecret)}
	if _, err := s.UpdateIssuer(ctx, team.ID, is.ID, in); err != nil {
		t.Fatal(err)
	}
	ens, err := s.EnsureIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw", UserClaim: "email"})
	if err != nil || ens.ID != is.ID || ens.Exchange == nil || ens.Exchange.ClientID != "gateway" {
		t.Fatalf("EnsureIssuer = %+v, %v", ens, err)
	}
	if _, p := storedExchangeSecret(t, s, is.ID); p != exchangeSecret {
		t.Fatalf("secret after EnsureIssuer = %q", p)
	}

	entries, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(entries)
	if strings.Contains(string(b), exchangeSecret) || !strings.Contains(string(b), `"exchange_client_secret":"unchanged"`) {
		t.Fatalf("audit = %s", b)
	}
}

func TestIssuerExchangeValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	for _, tc := range []struct {
		x     IssuerExchangeInput
		field string
	}{
		{IssuerExchangeInput{ClientSecret: ptr("s")}, "exchange.client_id"},
		{IssuerExchangeInput{ClientID: "  ", ClientSecret: ptr("s")}, "exchange.client_id"},
		{IssuerExchangeInput{ClientID: strings.Repeat("c", 256), ClientSecret: ptr("s")}, "exchange.client_id"},
		{IssuerExchangeInput{ClientID: "a\nb", ClientSecret: ptr("s")}, "exchange.client_id"},
		{IssuerExchangeInput{ClientID: "c"}, "exchange.client_secret"},
		{IssuerExchangeInput{ClientID: "c", ClientSecret: ptr("")}, "exchange.client_secret"},
		{IssuerExchangeInput{ClientID: "c", ClientSecret: ptr("bad\x00secret")}, "exchange.client_secret"},
		{IssuerExchangeInput{ClientID: "c", ClientSecret: ptr(strings.Repeat("s", 4097))}, "exchange.client_secret"},
	} {
		_, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "https://idp.example", Audience: "gw", Exchange: &tc.x})
		e := attach.AsError(err)
		if e == nil || e.Code != attach.CodeInvalid || e.Field != tc.field {
			t.Errorf("%+v: err = %v, want invalid %s", tc.x, err, tc.field)
		}
		if e != nil && tc.x.ClientSecret != nil && len(*tc.x.ClientSecret) > 1 && strings.Contains(e.Error(), *tc.x.ClientSecret) {
			t.Errorf("the secret is in the error: %v", e)
		}
	}
	list, _, err := s.ListIssuers(ctx, team.ID, Page{})
	if err != nil || len(list) != 0 {
		t.Fatalf("refused inputs left issuers: %v, %v", list, err)
	}
}

// The directory holds the exchange issuer's secret in clear for the
// verifier, and never logs it.
func TestDirectoryExchangeIssuer(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	s, pool, ctx, team := newTeamStore(t, "acme")
	d := runDirectory(t, pool, testSealer(t), logs)
	if _, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:1", Audience: "plain"}); err != nil {
		t.Fatal(err)
	}
	is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:2", Audience: "gw",
		Exchange: &IssuerExchangeInput{ClientID: "gateway", ClientSecret: ptr(exchangeSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		snap, _ := d.Team("acme")
		_, ok := snap.ExchangeIssuer()
		return ok
	})
	snap, _ := d.Team("acme")
	got, _ := snap.ExchangeIssuer()
	if got.ID != is.ID || got.Exchange.ClientID != "gateway" || got.Exchange.ClientSecret != exchangeSecret {
		t.Fatalf("exchange issuer = %+v %+v", got, got.Exchange)
	}
	if strings.Contains(logs.String(), exchangeSecret) {
		t.Fatal("the secret reached the log")
	}
}

// A secret that does not open (another ATTACH_SECRET_KEY) costs the issuer
// its exchange setting, not the team its issuers.
func TestDirectoryExchangeSecretUnopenable(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	s, pool, ctx, team := newTeamStore(t, "acme")
	if _, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:2", Audience: "gw",
		Exchange: &IssuerExchangeInput{ClientID: "gateway", ClientSecret: ptr(exchangeSecret)}}); err != nil {
		t.Fatal(err)
	}
	other, err := NewSealer([]byte(strings.Repeat("k", SecretKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	d := runDirectory(t, pool, other, logs)
	snap, _ := d.Team("acme")
	if _, ok := snap.ExchangeIssuer(); ok || len(snap.Issuers) != 1 {
		t.Fatalf("issuers = %+v", snap.Issuers)
	}
	if !strings.Contains(logs.String(), "exchange client secret skipped") {
		t.Fatalf("log = %s", logs.String())
	}
}
