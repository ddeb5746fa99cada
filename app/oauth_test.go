package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// exchangeLab is a gateway with two teams, "lab" and "other", each with an
// engine and trusting the same real OIDC provider for its own audience;
// "lab" also has an API key and two agents.
type exchangeLab struct {
	gw       *gateway
	idp      *oidctest.Provider
	eng      *engine
	apiKey   string
	apiKeyID string
}

func startExchangeLab(t *testing.T) *exchangeLab {
	t.Helper()
	idp, eng := startIDPAndEngine(t)
	gw := startGateway(t, testConfig(t))
	ctx := context.Background()
	l := &exchangeLab{gw: gw, idp: idp, eng: eng}
	for _, slug := range []string{"lab", "other"} {
		team, err := gw.store.CreateTeam(ctx, teamInput(slug))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gw.store.CreateEngine(ctx, team.ID, tenants.EngineInput{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: eng.URL(), Models: []string{"tiny"}, Default: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := gw.store.CreateIssuer(ctx, team.ID, tenants.IssuerInput{URL: idp.Issuer(), Audience: "api://" + slug}); err != nil {
			t.Fatal(err)
		}
		if slug != "lab" {
			continue
		}
		key, secret, err := gw.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "ci", Scopes: []string{attach.ScopeMemoryAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		l.apiKey, l.apiKeyID = secret, key.ID
		for _, name := range []string{"coder", "writer"} {
			if _, err := gw.store.CreateAgent(ctx, team.ID, tenants.AgentInput{Name: name, BaseURL: "http://127.0.0.1:9", Version: "0.3"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "both teams in the directory", func() bool {
		lab, ok1 := gw.dir.Team("lab")
		other, ok2 := gw.dir.Team("other")
		return ok1 && ok2 && len(lab.Agents) == 2 && labHasKey(lab, l.apiKey) && len(other.Issuers) == 1 && len(lab.Issuers) == 1
	})
	return l
}

// exchange posts a token exchange request to the team's endpoint and
// returns the status and the decoded JSON answer.
func (l *exchangeLab) exchange(t *testing.T, team string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(l.gw.URL+"/t/"+team+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on a token answer", cc)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("token endpoint answered %d %q", resp.StatusCode, body)
	}
	return resp.StatusCode, out
}

func exchangeForm(subject, subjectType, audience, scope string) url.Values {
	f := url.Values{
		"grant_type":         {grantTokenExchange},
		"subject_token":      {subject},
		"subject_token_type": {subjectType},
		"audience":           {audience},
	}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// mustExchange exchanges and fails the test unless a token comes back.
func (l *exchangeLab) mustExchange(t *testing.T, form url.Values) (string, map[string]any) {
	t.Helper()
	status, out := l.exchange(t, "lab", form)
	tok, _ := out["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("exchange: %d %v", status, out)
	}
	return tok, out
}

func TestTokenExchangeRoundTrip(t *testing.T) {
	t.Parallel()
	l := startExchangeLab(t)
	base := l.gw.URL + "/t/lab"

	t.Run("OIDC token narrowed to the engines", func(t *testing.T) {
		oidc := l.idp.Token(t, "api://lab", "chat", "models")
		tok, out := l.mustExchange(t, exchangeForm(oidc, tokenTypeJWT, base, "chat"))
		if out["token_type"] != "Bearer" || out["issued_token_type"] != tokenTypeAccessToken || out["scope"] != "chat" {
			t.Errorf("answer = %v", out)
		}
		if exp, _ := out["expires_in"].(float64); exp < 1 || exp > 600 {
			t.Errorf("expires_in = %v", out["expires_in"])
		}
		claims := oidctest.JWTPart(t, tok, 1)
		if claims["sub"] != "gateway-rs256" || claims["aud"] != base || claims["scope"] != "chat" || claims["iss"] != l.gw.cfg.PublicURL || claims["jti"] == nil {
			t.Errorf("claims = %v", claims)
		}
		resp, body := call(t, "POST", base+"/api/chat", tok, chatBody)
		if resp.StatusCode != 200 {
			t.Fatalf("engine route with the exchanged token: %d %s", resp.StatusCode, body)
		}
		up, _ := l.eng.lastRequest()
		if got := up.Header.Get("X-Attach-User"); got != "gateway-rs256" {
			t.Errorf("engine saw X-Attach-User %q, want the original subject", got)
		}
		if up.Header.Get("Authorization") != "" {
			t.Error("the exchanged token reached the engine")
		}
		// Another team's routes refuse it, before its engine is asked.
		hits := l.eng.hits.Load()
		resp, body = call(t, "POST", l.gw.URL+"/t/other/api/chat", tok, chatBody)
		if resp.StatusCode != 401 || errorCode(t, body) != "wrong_audience" {
			t.Errorf("another team: %d %s", resp.StatusCode, body)
		}
		if l.eng.hits.Load() != hits {
			t.Error("a refused request reached the engine")
		}
	})

	t.Run("API key", func(t *testing.T) {
		tok, out := l.mustExchange(t, exchangeForm(l.apiKey, tokenTypeAccessToken, base, ""))
		if out["scope"] != attach.ScopeMemoryAdmin {
			t.Errorf("scope = %v, want the key's", out["scope"])
		}
		resp, body := call(t, "POST", base+"/api/chat", tok, chatBody)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		up, _ := l.eng.lastRequest()
		if got := up.Header.Get("X-Attach-User"); got != attach.SubjectPrefixAPIKey+l.apiKeyID {
			t.Errorf("engine saw X-Attach-User %q", got)
		}
		// A trailing slash names the same audience.
		tok, _ = l.mustExchange(t, exchangeForm(l.apiKey, tokenTypeAccessToken, base+"/", ""))
		if aud := oidctest.JWTPart(t, tok, 1)["aud"]; aud != base {
			t.Errorf("trailing slash: aud %v", aud)
		}
	})

	t.Run("agent audience only at that agent", func(t *testing.T) {
		tok, _ := l.mustExchange(t, exchangeForm(l.apiKey, tokenTypeAccessToken, base+"/a2a/coder", ""))
		if aud := oidctest.JWTPart(t, tok, 1)["aud"]; aud != base+"/a2a/coder" {
			t.Errorf("aud = %v", aud)
		}
		hits := l.eng.hits.Load()
		for _, route := range []string{"/api/chat", "/a2a/writer", "/mem/events"} {
			resp, body := call(t, "POST", base+route, tok, `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`)
			if resp.StatusCode != 401 || errorCode(t, body) != "wrong_audience" {
				t.Errorf("%s: %d %s", route, resp.StatusCode, body)
			}
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: challenge %q", route, resp.Header.Get("WWW-Authenticate"))
			}
		}
		if l.eng.hits.Load() != hits {
			t.Error("a refused request reached the engine")
		}
		// At its agent the token is accepted: the relay is reached (the
		// agent's address answers nothing, which JSON-RPC reports).
		resp, body := call(t, "POST", base+"/a2a/coder", tok, `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","messageId":"m1","parts":[{"kind":"text","text":"hi"}]}}}`,
			"A2A-Version", "0.3")
		if resp.StatusCode == 401 {
			t.Errorf("its own agent refused it: %s", body)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		oidc := l.idp.Token(t, "api://lab", "chat")
		now := time.Now()
		expired := l.idp.Sign(t, "RS256", map[string]any{
			"iss": l.idp.Issuer(), "sub": "old", "aud": "api://lab",
			"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-10 * time.Minute).Unix(),
		})
		teamTok, _ := l.mustExchange(t, exchangeForm(oidc, tokenTypeJWT, base, ""))
		cases := []struct {
			name string
			form url.Values
			code string
		}{
			{"wider scope", exchangeForm(oidc, tokenTypeJWT, base, "chat admin"), oauthInvalidScope},
			{"another team's audience", exchangeForm(oidc, tokenTypeJWT, l.gw.URL+"/t/other", ""), oauthInvalidTarget},
			{"another team's agent", exchangeForm(oidc, tokenTypeJWT, l.gw.URL+"/t/other/a2a/coder", ""), oauthInvalidTarget},
			{"unknown agent", exchangeForm(oidc, tokenTypeJWT, base+"/a2a/nobody", ""), oauthInvalidTarget},
			{"unknown MCP server", exchangeForm(oidc, tokenTypeJWT, base+"/mcp/files", ""), oauthInvalidTarget},
			{"foreign URL", exchangeForm(oidc, tokenTypeJWT, "https://elsewhere.example/", ""), oauthInvalidTarget},
			{"a team slug that only starts the same", exchangeForm(oidc, tokenTypeJWT, base+"x", ""), oauthInvalidTarget},
			{"two audiences", func() url.Values {
				f := exchangeForm(oidc, tokenTypeJWT, base, "")
				f.Add("resource", base+"/a2a/coder")
				return f
			}(), oauthInvalidTarget},
			{"no audience", func() url.Values { f := exchangeForm(oidc, tokenTypeJWT, base, ""); f.Del("audience"); return f }(), oauthInvalidTarget},
			{"bad grant type", func() url.Values {
				f := exchangeForm(oidc, tokenTypeJWT, base, "")
				f.Set("grant_type", "client_credentials")
				return f
			}(), oauthUnsupportedGrantType},
			{"no grant type", func() url.Values { f := exchangeForm(oidc, tokenTypeJWT, base, ""); f.Del("grant_type"); return f }(), oauthInvalidRequest},
			{"no subject token", exchangeForm("", tokenTypeJWT, base, ""), oauthInvalidRequest},
			{"no subject token type", exchangeForm(oidc, "", base, ""), oauthInvalidRequest},
			{"an API key as a JWT", exchangeForm(l.apiKey, tokenTypeJWT, base, ""), oauthInvalidRequest},
			{"a forged token", exchangeForm(oidc[:len(oidc)-4]+"AAAA", tokenTypeJWT, base, ""), oauthInvalidGrant},
			{"an expired token", exchangeForm(expired, tokenTypeJWT, base, ""), oauthInvalidGrant},
			{"another team's token", exchangeForm(l.idp.Token(t, "api://other"), tokenTypeJWT, base, ""), oauthInvalidGrant},
			{"an exchanged token", exchangeForm(teamTok, tokenTypeJWT, base+"/a2a/coder", ""), oauthInvalidGrant},
		}
		for _, tc := range cases {
			status, out := l.exchange(t, "lab", tc.form)
			if status != 400 || out["error"] != tc.code || out["error_description"] == "" || out["access_token"] != nil {
				t.Errorf("%s: %d %v, want 400 %s", tc.name, status, out, tc.code)
			}
		}
		// Not a form at all.
		resp, body := call(t, "POST", base+"/oauth/token", "", `{"grant_type":"x"}`)
		if resp.StatusCode != 400 || !strings.Contains(body, `"invalid_request"`) {
			t.Errorf("JSON body: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("metadata and keys", func(t *testing.T) {
		tok, _ := l.mustExchange(t, exchangeForm(l.apiKey, tokenTypeAccessToken, base, ""))
		resp, body := call(t, "GET", l.gw.URL+"/.well-known/oauth-authorization-server/t/lab", "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("metadata: %d %s", resp.StatusCode, body)
		}
		var md struct {
			Issuer        string   `json:"issuer"`
			TokenEndpoint string   `json:"token_endpoint"`
			JWKSURI       string   `json:"jwks_uri"`
			Grants        []string `json:"grant_types_supported"`
		}
		if err := json.Unmarshal([]byte(body), &md); err != nil {
			t.Fatal(err)
		}
		if md.Issuer != oidctest.JWTPart(t, tok, 1)["iss"] || md.TokenEndpoint != base+"/oauth/token" || len(md.Grants) != 1 || md.Grants[0] != grantTokenExchange {
			t.Errorf("metadata = %+v", md)
		}
		resp, body = call(t, "GET", md.JWKSURI, "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"`+oidctest.JWTPart(t, tok, 0)["kid"].(string)+`"`) {
			t.Errorf("JWKS %d does not list the token's kid: %s", resp.StatusCode, body)
		}
		if resp, _ := call(t, "GET", l.gw.URL+"/.well-known/oauth-authorization-server/t/nobody", "", ""); resp.StatusCode != 404 {
			t.Errorf("unknown team: %d", resp.StatusCode)
		}
	})
}

func labHasKey(team *tenants.Snapshot, secret string) bool {
	prefix, _ := attach.ParseAPIKey(secret)
	_, ok := team.APIKey(prefix)
	return ok
}
