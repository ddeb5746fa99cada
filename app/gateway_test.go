package app

import (
	"bufio"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

func TestSidecarQuickStart(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	tok := idp.Token(t, "api://default")

	resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody,
		"X-Attach-User", "mallory", "x-attach-tenant", "other", "X-Attach-Session", "forged",
		"User-Agent", "quickstart/1")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `"Hello!"`) {
		t.Fatalf("engine answer not passed through: %s", body)
	}
	sid := resp.Header.Get("X-Attach-Session-Id")
	if sid == "" {
		t.Fatal("no X-Attach-Session-Id on the response")
	}

	up, _ := eng.lastRequest()
	if got := up.Header.Get("X-Attach-User"); got != "gateway-rs256" {
		t.Errorf("engine saw X-Attach-User %q, want the token's subject", got)
	}
	if got := up.Header.Get("X-Attach-Tenant"); got != "default" {
		t.Errorf("engine saw X-Attach-Tenant %q", got)
	}
	if got := up.Header.Values("X-Attach-Session"); len(got) != 1 || got[0] != sid {
		t.Errorf("engine saw X-Attach-Session %q, client got %q", got, sid)
	}
	if up.Header.Get("Authorization") != "" {
		t.Error("the caller's token reached the engine")
	}

	// Same user and client: same session. Another client: another session.
	resp2, _ := call(t, "POST", gw.URL+"/api/chat", tok, chatBody, "User-Agent", "quickstart/1")
	if resp2.Header.Get("X-Attach-Session-Id") != sid {
		t.Error("session id not stable for the same user and client")
	}
	resp3, _ := call(t, "POST", gw.URL+"/api/chat", tok, chatBody, "User-Agent", "other-client/2")
	if resp3.Header.Get("X-Attach-Session-Id") == sid {
		t.Error("different clients share a session id")
	}

	// The seed's quick-start: curl -d sends a form content type; the body
	// still reaches the engine byte for byte.
	seed := `{"model":"tinyllama","prompt":"hello","stream":false}`
	resp, body = call(t, "POST", gw.URL+"/api/chat", tok, seed, "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != 200 || resp.Header.Get("X-Attach-Session-Id") == "" {
		t.Fatalf("seed quick-start: %d %s", resp.StatusCode, body)
	}
	if _, got := eng.lastRequest(); string(got) != seed {
		t.Fatalf("engine got body %q", got)
	}

	// The hosted URL of the default team is the same gateway.
	resp, body = call(t, "POST", gw.URL+"/t/default/api/chat", tok, chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("/t/default/api/chat: %d %s", resp.StatusCode, body)
	}
}

func TestStreamingReachesClientBeforeEngineFinishes(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	eng.release = make(chan struct{})
	defer func() {
		select {
		case <-eng.release:
		default:
			close(eng.release)
		}
	}()
	req, _ := http.NewRequest("POST", gw.URL+"/api/chat", strings.NewReader(`{"model":"tiny","messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+idp.Token(t, "api://default"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Attach-Session-Id") == "" {
		t.Fatalf("status %d, session %q", resp.StatusCode, resp.Header.Get("X-Attach-Session-Id"))
	}
	r := bufio.NewReader(resp.Body)
	// The engine is blocked after its first chunk: reading it proves the
	// gateway forwards chunks as they arrive.
	if first := readLine(t, r); !strings.Contains(first, `"Hel"`) {
		t.Fatalf("first chunk %q", first)
	}
	close(eng.release)
	rest := readLine(t, r) + readLine(t, r) + readLine(t, r)
	if !strings.Contains(rest, `"done":true`) {
		t.Fatalf("stream did not finish: %q", rest)
	}
}

// TestBadTokensNeverReachTheEngine is the table of forged, broken and
// misdirected tokens: each must get 401 with a reason, and the engine must
// not be called at all.
func TestBadTokensNeverReachTheEngine(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	iss := idp.Issuer()
	good := idp.Token(t, "api://default")
	parts := strings.Split(good, ".")

	// A second team trusting the same IdP for another audience.
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"team-b","name":"Team B"}`, 201)
	admin.post("/teams/team-b/issuers", `{"issuer":"`+iss+`","audience":"api://team-b"}`, 201)
	admin.post("/teams/team-b/engines", `{"name":"e","dialect":"ollama","base_url":"`+eng.URL()+`","default":true}`, 201)
	waitForTeam(t, gw, "team-b", 1, 1)
	teamBKey := admin.post("/teams/team-b/keys", `{"name":"b"}`, 201)["key"].(string)
	waitFor(t, "team B's key in the directory", func() bool {
		_, ok := gw.dir.KeyTeam(teamBKey)
		return ok
	})

	now := time.Now()
	claims := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"iss": iss, "aud": "api://default", "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(m)
		}
		return m
	}
	rsaPub := idp.PrivateKey("RS256").Public()
	der, _ := x509.MarshalPKIXPublicKey(rsaPub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	altered := strings.Replace(string(payload), `"gateway-rs256"`, `"admin-account"`, 1)

	cases := []struct {
		name, token, reason string
		url                 string
	}{
		{"no token", "", "missing_token", ""},
		{"alg none", unsigned(t, claims(nil)), "alg_not_allowed", ""},
		{"HS256 with the RSA public key as PEM secret", hmacSigned(t, pemKey, claims(nil)), "alg_not_allowed", ""},
		{"HS256 with the RSA public key as DER secret", hmacSigned(t, der, claims(nil)), "alg_not_allowed", ""},
		{"expired", idp.Sign(t, "RS256", claims(func(m map[string]any) {
			m["exp"] = now.Add(-10 * time.Minute).Unix()
			m["iat"] = now.Add(-time.Hour).Unix()
		})), "expired", ""},
		{"nbf in the future", idp.Sign(t, "RS256", claims(func(m map[string]any) { m["nbf"] = now.Add(10 * time.Minute).Unix() })), "not_yet_valid", ""},
		{"wrong aud", idp.Token(t, "api://somewhere-else"), "wrong_audience", ""},
		{"wrong iss", idp.Sign(t, "RS256", claims(func(m map[string]any) { m["iss"] = "https://evil.example/" })), "unknown_issuer", ""},
		{"unknown kid", withKid(t, idp, "no-such-key", claims(nil)), "unknown_key", ""},
		{"payload altered after signing", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(altered)) + "." + parts[2], "bad_signature", ""},
		{"signature stripped", parts[0] + "." + parts[1] + ".", "", ""},
		{"truncated", good[:len(good)-10], "bad_signature", ""},
		{"truncated to two parts", parts[0] + "." + parts[1][:20], "malformed", ""},
		{"not a JWT", "hello-i-am-a-token", "malformed", ""},
		{"100 KB token", strings.Repeat("a", 100<<10), "token_too_large", ""},
		{"team A token on team B's URL", good, "wrong_audience", "/t/team-b/api/chat"},
		{"unknown API key", "atk_0123456789ab_" + strings.Repeat("x", 43), "unknown_api_key", ""},
		{"team B's key on the default team's URL", teamBKey, "api_key_of_another_team", ""},
		{"team B's key with a wrong secret", teamBKey[:len(teamBKey)-4] + "AAAA", "unknown_api_key", ""},
	}
	before := eng.hits.Load()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.url
			if path == "" {
				path = "/api/chat"
			}
			resp, body := call(t, "POST", gw.URL+path, tc.token, chatBody)
			if resp.StatusCode != 401 {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, body)
			}
			code := errorCode(t, body)
			if tc.reason != "" && code != tc.reason {
				t.Errorf("reason %q, want %q", code, tc.reason)
			}
			wa := resp.Header.Get("WWW-Authenticate")
			switch {
			case tc.token == "":
				// No token, no error code (RFC 6750 §3.1).
				if wa != `Bearer realm="attach"` {
					t.Errorf("WWW-Authenticate %q", wa)
				}
			case !strings.HasPrefix(wa, "Bearer ") || !strings.Contains(wa, `error="invalid_token"`) || !strings.Contains(wa, `error_description="`):
				t.Errorf("WWW-Authenticate %q", wa)
			}
			if tc.reason == "api_key_of_another_team" && !strings.Contains(body, "/t/team-b/") {
				t.Errorf("the refusal does not name the key's team URL: %s", body)
			}
			if tc.reason == "unknown_api_key" && strings.Contains(body, "team-b") {
				t.Errorf("a key that does not match names a team: %s", body)
			}
			if tc.token != "" && len(tc.token) > 20 && strings.Contains(body, tc.token) {
				t.Error("the token was echoed in the error")
			}
		})
	}
	if n := eng.hits.Load() - before; n != 0 {
		t.Fatalf("the engine was called %d times by refused requests", n)
	}
	// The same team-B URL accepts a token made for team B.
	resp, body := call(t, "POST", gw.URL+"/t/team-b/api/chat", idp.Token(t, "api://team-b"), chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("team B's own token: %d %s", resp.StatusCode, body)
	}
}

func TestKeyRotationAtTheIdPWhileRunning(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	if resp, body := call(t, "POST", gw.URL+"/api/chat", idp.Token(t, "api://default"), chatBody); resp.StatusCode != 200 {
		t.Fatalf("before rotation: %d %s", resp.StatusCode, body)
	}
	oldKid := idp.KeyID("RS256")
	idp.ReplaceKeys(t) // old keys gone, new ones published
	if idp.KeyID("RS256") == oldKid {
		t.Fatal("provider did not rotate its key")
	}
	tok := idp.Token(t, "api://default")
	if resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody); resp.StatusCode != 200 {
		t.Fatalf("token signed with the new key: %d %s", resp.StatusCode, body)
	}
}

// --- crafting tokens the provider would never issue ---

func unsigned(t *testing.T, claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func hmacSigned(t *testing.T, secret []byte, claims map[string]any) string {
	return signedJWT(t, jose.SigningKey{Algorithm: jose.HS256, Key: secret}, claims)
}

// withKid signs with the provider's real RSA key but names a kid it never published.
func withKid(t *testing.T, idp *oidctest.Provider, kid string, claims map[string]any) string {
	return signedJWT(t, jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: idp.PrivateKey("RS256"), KeyID: kid}}, claims)
}

// signedJWT is a compact JWT (typ JWT) of claims signed with key.
func signedJWT(t *testing.T, key jose.SigningKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
