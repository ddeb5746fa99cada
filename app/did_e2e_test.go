package app

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/didtest"
)

// An agent signs in with a DID: team "agents" trusts did:key through the
// management API, and a DID-JWT minted by npm did-jwt calls the team's
// engine, which sees the DID as the user and never the caller's token.
// Forged, untrusted, unlisted and misaddressed tokens are each refused
// with 401, a reason code and a challenge, never reach the engine, and are
// counted by reason in /metrics.
func TestDIDSignInEndToEnd(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"agents","name":"Agents"}`, 201)
	admin.post("/teams/agents/engines", `{"name":"gpu-box","dialect":"ollama","base_url":"`+eng.URL()+`","models":["tiny"],"default":true}`, 201)
	waitForTeam(t, gw, "agents", 1, 0)

	teamAud := map[string]any{"aud": gw.URL + "/t/agents"}
	const configuredAud = "https://agents.example/acme"
	// did-jwt makes a new key for each token, so each DID that must pass the
	// allow-list is minted first.
	planner := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Kid: "absolute", Claims: map[string]any{"aud": gw.URL + "/t/agents", "scope": "chat"}, ExpiresIn: 600, Check: true})
	writer := didtest.Mint(t, didtest.Request{Key: didtest.P256, Claims: map[string]any{"aud": configuredAud}, ExpiresIn: 600, Check: true})
	misaddressed := didtest.Mint(t, didtest.Request{Key: didtest.Secp256k1, Claims: map[string]any{"aud": gw.URL + "/t/other"}, ExpiresIn: 600})

	// Before the team trusts any DID method, a valid DID-JWT is refused.
	resp, body := call(t, "POST", gw.URL+"/t/agents/api/chat", planner.Token, chatBody)
	if resp.StatusCode != 401 || errorCode(t, body) != identity.ReasonDIDMethodNotTrusted {
		t.Fatalf("DID-JWT before the team trusts DIDs: %d %s", resp.StatusCode, body)
	}

	admin.do("PUT", "/teams/agents/did-policy", `{"methods":["key"],"allow":["`+planner.DID+`","`+writer.DID+`","`+misaddressed.DID+`"],"audiences":["`+configuredAud+`"]}`, 200)
	waitFor(t, "the DID policy in the directory", func() bool {
		s, ok := gw.dir.Team("agents")
		return ok && len(s.DID.Methods) == 1 && len(s.DID.Allow) == 3
	})

	for _, tok := range []didtest.Token{planner, writer} {
		resp, body := call(t, "POST", gw.URL+"/t/agents/api/chat", tok.Token, chatBody)
		if resp.StatusCode != 200 || !strings.Contains(body, "Hello!") {
			t.Fatalf("DID-JWT of %s: %d %s", tok.DID, resp.StatusCode, body)
		}
		up, _ := eng.lastRequest()
		if got := up.Header.Get("X-Attach-User"); got != tok.DID {
			t.Errorf("engine saw X-Attach-User %q, want %s", got, tok.DID)
		}
		if got := up.Header.Get("X-Attach-Tenant"); got != "agents" {
			t.Errorf("engine saw X-Attach-Tenant %q", got)
		}
		if got := up.Header.Get("Authorization"); got != "" {
			t.Errorf("engine got Authorization %q", got)
		}
		for name, values := range up.Header {
			for _, v := range values {
				if strings.Contains(v, tok.Token) || strings.Contains(v, strings.Split(tok.Token, ".")[2]) {
					t.Errorf("the caller's token reached the engine in %s", name)
				}
			}
		}
	}

	cases := []struct {
		name   string
		token  string
		reason string
	}{
		{"signed by another key than the DID's", didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600, Forge: didtest.Forge{Iss: planner.DID}}).Token, identity.ReasonBadSignature},
		{"a method the team does not trust", didtest.Mint(t, didtest.Request{Key: didtest.Secp256k1, Method: "pkh", Claims: teamAud, ExpiresIn: 600}).Token, identity.ReasonDIDMethodNotTrusted},
		{"a DID off the allow-list", didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Claims: teamAud, ExpiresIn: 600}).Token, identity.ReasonDIDNotAllowed},
		{"another team's audience", misaddressed.Token, identity.ReasonWrongAudience},
	}
	before := eng.hits.Load()
	for _, c := range cases {
		resp, body := call(t, "POST", gw.URL+"/t/agents/api/chat", c.token, chatBody)
		if resp.StatusCode != 401 {
			t.Fatalf("%s: %d %s, want 401", c.name, resp.StatusCode, body)
		}
		if code := errorCode(t, body); code != c.reason {
			t.Errorf("%s: reason %q, want %q (%s)", c.name, code, c.reason, body)
		}
		wa := resp.Header.Get("WWW-Authenticate")
		if !strings.HasPrefix(wa, `Bearer realm="attach"`) || !strings.Contains(wa, `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, wa)
		}
		if strings.Contains(body, c.token) {
			t.Errorf("%s: the token is echoed in the error", c.name)
		}
	}
	if got := eng.hits.Load(); got != before {
		t.Fatalf("the engine was called %d times by refused callers", got-before)
	}

	// One refusal before the policy and one after were of an untrusted
	// method; every other reason once.
	failures := authFailures(t, gw)
	for reason, want := range map[string]float64{
		identity.ReasonBadSignature:        1,
		identity.ReasonDIDMethodNotTrusted: 2,
		identity.ReasonDIDNotAllowed:       1,
		identity.ReasonWrongAudience:       1,
	} {
		if failures[reason] != want {
			t.Errorf("attach_auth_failures_total{reason=%q} = %v, want %v", reason, failures[reason], want)
		}
	}
}

// authFailures reads attach_auth_failures_total by reason from /metrics.
func authFailures(t *testing.T, gw *gateway) map[string]float64 {
	t.Helper()
	resp, body := call(t, "GET", gw.URL+"/metrics", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	const prefix = `attach_auth_failures_total{reason="`
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		reason, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			t.Fatalf("metric line %q", sc.Text())
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", sc.Text(), err)
		}
		out[reason] = n
	}
	return out
}
