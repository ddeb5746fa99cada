package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// The management API makes an issuer the team's exchange issuer only when
// its discovery lists the token-exchange grant; the client secret is never
// in an answer; a team has one exchange issuer at most.
func TestManagementAPIExchangeIssuer(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"lab","name":"Lab"}`, 201)
	id, secret := idp.ExchangeClient()

	is := admin.post("/teams/lab/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"api://lab",
		"exchange":{"client_id":"`+id+`","client_secret":"`+secret+`"}}`, 201)
	x, _ := is["exchange"].(map[string]any)
	if x["client_id"] != id || strings.Contains(mustJSON(is), secret) {
		t.Fatalf("created: %v", is)
	}
	issuerID, _ := is["id"].(string)
	for _, path := range []string{"/teams/lab/issuers", "/teams/lab/issuers/" + issuerID} {
		if got := admin.do("GET", path, "", 200); strings.Contains(mustJSON(got), secret) || !strings.Contains(mustJSON(got), `"client_id":"`+id+`"`) {
			t.Fatalf("GET %s: %v", path, got)
		}
	}
	// PUT back what was read keeps the secret.
	admin.do("PUT", "/teams/lab/issuers/"+issuerID, `{"issuer":"`+idp.Issuer()+`","audience":"api://lab","exchange":{"client_id":"`+id+`"}}`, 200)

	// An issuer whose discovery does not list the grant (the engine here
	// serves no discovery at all), a missing secret or client id, and a
	// second exchange issuer are refused, naming the field.
	for body, field := range map[string]string{
		`{"issuer":"` + eng.URL() + `","audience":"a","exchange":{"client_id":"c","client_secret":"s"}}`:    "exchange",
		`{"issuer":"` + idp.Issuer() + `","audience":"b","exchange":{"client_id":"c"}}`:                     "exchange.client_secret",
		`{"issuer":"` + idp.Issuer() + `","audience":"b","exchange":{"client_secret":"s"}}`:                 "exchange.client_id",
		`{"issuer":"` + idp.Issuer() + `","audience":"b","exchange":{"client_id":"c","client_secret":"s"}}`: "exchange",
	} {
		got := admin.post("/teams/lab/issuers", body, 422)
		e, _ := got["error"].(map[string]any)
		if e["field"] != field {
			t.Errorf("%s: error %v, want field %s", body, e, field)
		}
	}
	admin.post("/teams/lab/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"b","exchange":{"client_id":"c","client_secret":"s","x":1}}`, 400)
}

// End to end: a team with an exchange issuer (the real oidc-provider and
// its token-exchange grant) lets a caller with an opaque token or a JWT of
// an issuer it does not trust reach its engine as the exchanged token's
// subject; the IdP is asked once per token; a forged token is 401
// exchange_refused, the engine untouched; the IdP down is 401
// exchange_unavailable; both are counted in /metrics; a team without an
// exchange issuer never calls the IdP.
func TestUpstreamExchangeEndToEnd(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	id, secret := idp.ExchangeClient()
	for _, slug := range []string{"lab", "plain"} {
		admin.post("/teams", `{"slug":"`+slug+`","name":"`+slug+`"}`, 201)
		admin.post("/teams/"+slug+"/engines", `{"name":"local","dialect":"ollama","base_url":"`+eng.URL()+`","default":true}`, 201)
	}
	admin.post("/teams/lab/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"api://lab",
		"exchange":{"client_id":"`+id+`","client_secret":"`+secret+`"}}`, 201)
	admin.post("/teams/plain/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"api://plain"}`, 201)
	waitFor(t, "the exchange issuer in the directory", func() bool {
		s, ok := gw.dir.Team("lab")
		if !ok {
			return false
		}
		_, ok = s.ExchangeIssuer()
		return ok && len(s.Engines) == 1
	})
	waitForTeam(t, gw, "plain", 1, 1)
	chat := func(slug, token string) (*http.Response, string) {
		t.Helper()
		return call(t, "POST", gw.URL+"/t/"+slug+"/api/chat", token, chatBody)
	}
	outside := idp.SignOutside(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice@outside", "exp": time.Now().Add(5 * time.Minute).Unix()})
	opaque := idp.OpaqueToken(t)

	// A team without an exchange issuer never calls out.
	before := idp.Hits(t, "/token")
	for _, tok := range []string{outside, opaque} {
		if resp, body := chat("plain", tok); resp.StatusCode != 401 {
			t.Fatalf("plain team: %d %s", resp.StatusCode, body)
		}
	}
	if got := idp.Hits(t, "/token"); got != before {
		t.Fatalf("a team without an exchange issuer called the IdP %d times", got-before)
	}

	for tok, sub := range map[string]string{outside: "alice@outside", opaque: "gateway-rs256"} {
		resp, body := chat("lab", tok)
		if resp.StatusCode != 200 {
			t.Fatalf("exchanged: %d %s", resp.StatusCode, body)
		}
		up, _ := eng.lastRequest()
		if got := up.Header.Get("X-Attach-User"); got != sub {
			t.Fatalf("engine saw X-Attach-User %q, want %q", got, sub)
		}
		if strings.Contains(up.Header.Get("Authorization"), tok) {
			t.Fatal("the caller's token reached the engine")
		}
	}
	hits := idp.Hits(t, "/token")
	if hits != before+2 {
		t.Fatalf("token endpoint hits = %d, want %d", hits, before+2)
	}
	if resp, body := chat("lab", outside); resp.StatusCode != 200 {
		t.Fatalf("again: %d %s", resp.StatusCode, body)
	}
	if got := idp.Hits(t, "/token"); got != hits {
		t.Fatal("the second call with the same token asked the IdP again")
	}

	// The exchanged caller can trade its token at the gateway's own token
	// endpoint too, keeping its identity.
	resp, err := http.PostForm(gw.URL+"/t/lab/oauth/token", exchangeForm(opaque, tokenTypeAccessToken, gw.cfg.PublicURL+"/t/lab", ""))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&minted)
	resp.Body.Close()
	if resp.StatusCode != 200 || minted.AccessToken == "" {
		t.Fatalf("gateway token exchange: %d", resp.StatusCode)
	}
	if resp, body := chat("lab", minted.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("gateway token: %d %s", resp.StatusCode, body)
	}
	if up, _ := eng.lastRequest(); up.Header.Get("X-Attach-User") != "gateway-rs256" {
		t.Fatalf("gateway token: engine saw X-Attach-User %q", up.Header.Get("X-Attach-User"))
	}

	engineHits := eng.hits.Load()
	forged := idp.SignForged(t, map[string]any{"iss": oidctest.OutsideIssuer, "sub": "alice@outside", "exp": time.Now().Add(5 * time.Minute).Unix()})
	resp, body := chat("lab", forged)
	if resp.StatusCode != 401 || errorCode(t, body) != "exchange_refused" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("forged: %d %s %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	idp.Stop()
	resp, body = chat("lab", "opaque-token-while-the-idp-is-down-0123")
	if resp.StatusCode != 401 || errorCode(t, body) != "exchange_unavailable" {
		t.Fatalf("IdP down: %d %s", resp.StatusCode, body)
	}
	if eng.hits.Load() != engineHits {
		t.Fatal("a refused caller reached the engine")
	}
	// Exchanged before the outage, the token lives on in the cache.
	if resp, body := chat("lab", outside); resp.StatusCode != 200 {
		t.Fatalf("cached while the IdP is down: %d %s", resp.StatusCode, body)
	}
	_, metrics := call(t, "GET", gw.URL+"/metrics", "", "")
	for _, reason := range []string{"exchange_refused", "exchange_unavailable"} {
		if !strings.Contains(metrics, `attach_auth_failures_total{reason="`+reason+`"} 1`) {
			t.Errorf("no %s in the auth failures metric", reason)
		}
	}
}
