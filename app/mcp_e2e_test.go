package app

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/app/mcp/mcptest"
)

// mcpSetup is a gateway with team "research" trusting a real OIDC provider
// (its engines' audience api://research-engines), a real MCP server
// registered with its own credential, and a team "rival" with a key.
type mcpSetup struct {
	gw        *gateway
	idp       *oidctest.Provider
	srv       *mcptest.Server
	url       string // the server at the gateway
	memKey    string // research's key that reads all memory
	rivalKey  string
	teamID    string
	engineAud string
}

func startMCPSetup(t *testing.T, opts mcptest.Options) mcpSetup {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{})
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	team := admin.post("/teams", `{"slug":"research","name":"Research"}`, 201)
	admin.post("/teams", `{"slug":"rival","name":"Rival"}`, 201)
	admin.post("/teams/research/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"api://research-engines"}`, 201)
	opts.Credential = mcpCredential
	srv := mcptest.Start(t, opts)
	admin.post("/teams/research/mcp-servers", `{"name":"tools","url":"`+srv.URL()+`","credential":"`+mcpCredential+`"}`, 201)
	waitFor(t, "research's issuer and MCP server", func() bool {
		s, ok := gw.dir.Team("research")
		if !ok {
			return false
		}
		_, has := s.MCPServer("tools")
		return has && len(s.Issuers) == 1
	})
	return mcpSetup{
		gw: gw, idp: idp, srv: srv, url: gw.URL + "/t/research/mcp/tools",
		memKey:    memKey(t, gw, "research", attach.ScopeMemoryAdmin),
		rivalKey:  adminClient(t, gw).post("/teams/rival/keys", `{"name":"rival"}`, 201)["key"].(string),
		teamID:    team["id"].(string),
		engineAud: "api://research-engines",
	}
}

// toolCalls are the team's tool_call events, once n of them are stored.
func (s mcpSetup) toolCalls(t *testing.T, n int) []attach.Event {
	t.Helper()
	var got []attach.Event
	pollUntil(t, 10*time.Second, "tool calls in memory", func() bool {
		got = got[:0]
		for _, e := range listEvents(t, s.gw.URL+"/t/research", s.memKey, "limit=100") {
			if e.Kind == attach.KindToolCall {
				got = append(got, e)
			}
		}
		return len(got) >= n
	})
	return got
}

// The TypeScript SDK, knowing only the server's URL at the gateway, is
// refused, follows the challenge to the resource metadata, gets a token
// for the server's URL from the team's identity provider and calls the
// tool. The server sees the caller's identity and its own credential,
// never the client's token; the call is in the team's memory.
func TestMCPDiscoveryWithTheTypeScriptSDK(t *testing.T) {
	t.Parallel()
	s := startMCPSetup(t, mcptest.Options{})
	_, secret := s.idp.LoginClient()
	res := mcptest.Discover(t, s.url, s.idp.Issuer(), "gateway-rs256", secret)
	if res.Error != "" {
		t.Fatalf("client failed: %s\nrequests: %+v", res.Error, res.Requests)
	}
	metadataURL := s.gw.URL + "/.well-known/oauth-protected-resource/t/research/mcp/tools"
	if res.Bare == nil || res.Bare.Status != 401 || res.Bare.ResourceMetadata != metadataURL {
		t.Fatalf("bare request: %+v", res.Bare)
	}
	// No token sent: the challenge names no error (RFC 6750 §3.1).
	if strings.Contains(res.Bare.Challenge, "error=") {
		t.Errorf("challenge without a token: %s", res.Bare.Challenge)
	}
	// The SDK's own steps: refused, metadata, the provider's discovery and
	// token endpoint, then the call again.
	var steps []string
	for _, r := range res.Requests {
		steps = append(steps, r.Method+" "+strings.Replace(strings.Replace(r.URL, s.gw.URL, "GW", 1), s.idp.Issuer(), "IDP", 1)+" "+http.StatusText(r.Status))
	}
	joined := strings.Join(steps, "\n")
	t.Logf("the client's requests:\n%s", joined)
	for _, want := range []string{
		"POST GW/t/research/mcp/tools Unauthorized",
		"GET GW/.well-known/oauth-protected-resource/t/research/mcp/tools OK",
		"POST IDP/token OK",
		"POST GW/t/research/mcp/tools OK",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q in the client's requests:\n%s", want, joined)
		}
	}
	var aud any
	_ = json.Unmarshal(res.TokenAudience, &aud)
	if aud != s.url && !slices.Contains(toStrings(aud), s.url) {
		t.Errorf("token audience %s, want %s", res.TokenAudience, s.url)
	}
	if !slices.Contains(res.Tools, "whoami") || res.IsError || res.Result == nil {
		t.Fatalf("tools %v, result %+v", res.Tools, res.Result)
	}
	who := res.Result
	if who.User != "gateway-rs256" || who.Tenant != "research" || who.Session == "" || who.Authorization != "Bearer "+mcpCredential {
		t.Fatalf("the server saw %+v", who)
	}
	if res.SessionID == "" {
		t.Error("no Mcp-Session-Id came back through the gateway")
	}
	// Every request that reached the server carried the server's own
	// credential and the gateway's identity headers, never the token.
	seen := s.srv.Seen()
	if len(seen) == 0 {
		t.Fatal("the server saw nothing")
	}
	for i, r := range seen {
		if r.Authorization != "Bearer "+mcpCredential || strings.Contains(r.Authorization, res.TokenSuffix) ||
			r.User != "gateway-rs256" || r.Tenant != "research" || !strings.Contains(r.Via, s.gw.via) {
			t.Errorf("request %d to the server: %+v", i, r)
		}
		if i > 0 && r.Method != "DELETE" && r.SessionID != res.SessionID {
			t.Errorf("request %d without the session: %+v", i, r)
		}
	}

	calls := s.toolCalls(t, 1)
	e := calls[0]
	if e.User != "gateway-rs256" || e.Engine != "tools" || !strings.Contains(e.Content, "whoami") ||
		!strings.Contains(e.Content, "hello from the TypeScript SDK") || !strings.Contains(e.Content, "gateway-rs256") {
		t.Fatalf("tool call event: %+v", e)
	}
	var meta struct {
		Server    string          `json:"server"`
		Tool      string          `json:"tool"`
		Arguments json.RawMessage `json:"arguments"`
		Result    json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(e.Metadata, &meta); err != nil || meta.Server != "tools" || meta.Tool != "whoami" ||
		!strings.Contains(string(meta.Arguments), "hello from the TypeScript SDK") || !strings.Contains(string(meta.Result), `"tenant":"research"`) {
		t.Fatalf("tool call metadata: %s (%v)", e.Metadata, err)
	}
	if strings.Contains(string(e.Metadata), mcpCredential) {
		t.Fatal("the server's credential is in memory")
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// A gateway API key of the team is accepted as is, against a server that
// answers in plain JSON rather than SSE.
func TestMCPWithAKeyAndJSONAnswers(t *testing.T) {
	t.Parallel()
	s := startMCPSetup(t, mcptest.Options{JSONResponse: true})
	res := mcptest.WithToken(t, s.url, s.memKey)
	if res.Error != "" {
		t.Fatalf("client failed: %s", res.Error)
	}
	if res.Result == nil || !strings.HasPrefix(res.Result.User, attach.SubjectPrefixAPIKey) || res.Result.Authorization != "Bearer "+mcpCredential {
		t.Fatalf("the server saw %+v", res.Result)
	}
	for _, r := range s.srv.Seen() {
		if strings.Contains(r.Authorization, s.memKey) {
			t.Fatal("the key reached the server")
		}
	}
	calls := s.toolCalls(t, 1)
	if !strings.Contains(calls[0].Content, attach.SubjectPrefixAPIKey) {
		t.Fatalf("tool call event: %+v", calls[0])
	}
}

// Refused callers get 401 with the challenge that leads to the metadata,
// the refusal is counted, and the server is never called.
func TestMCPRefusals(t *testing.T) {
	t.Parallel()
	s := startMCPSetup(t, mcptest.Options{})
	metadataURL := s.gw.URL + "/.well-known/oauth-protected-resource/t/research/mcp/tools"
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	other := s.gw.URL + "/t/research/mcp/other-server"
	adminClient(t, s.gw).post("/teams/research/mcp-servers", `{"name":"other-server","url":"`+s.srv.URL()+`"}`, 201)
	waitFor(t, "the second server", func() bool {
		t, _ := s.gw.dir.Team("research")
		_, ok := t.MCPServer("other-server")
		return ok
	})
	cases := []struct {
		name, token, reason string
		url                 string
	}{
		{"no token", "", "missing_token", s.url},
		{"a token for the team's engines", s.idp.Token(t, s.engineAud), "wrong_audience", s.url},
		{"a token for another MCP server of the team", s.idp.Token(t, other), "wrong_audience", s.url},
		{"another team's key", s.rivalKey, "unknown_api_key", s.url},
		{"a forged token", s.idp.Token(t, s.url) + "x", "bad_signature", s.url},
	}
	before := s.srv.Hits()
	for _, c := range cases {
		for _, method := range []string{"POST", "GET", "DELETE"} {
			body := ""
			if method == "POST" {
				body = init
			}
			resp, out := call(t, method, c.url, c.token, body, "Accept", "application/json, text/event-stream")
			if resp.StatusCode != 401 || errorCode(t, out) == "" {
				t.Fatalf("%s, %s: %d %s", c.name, method, resp.StatusCode, out)
			}
			ch := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `resource_metadata="`+metadataURL+`"`) {
				t.Errorf("%s, %s: challenge %q", c.name, method, ch)
			}
			if hasErr := strings.Contains(ch, `error="invalid_token"`); hasErr != (c.token != "") {
				t.Errorf("%s, %s: challenge %q", c.name, method, ch)
			}
		}
	}
	if got := s.srv.Hits(); got != before {
		t.Fatalf("the server was called %d times by refused callers", got-before)
	}
	resp, metrics := call(t, "GET", s.gw.URL+"/metrics", "", "")
	if resp.StatusCode != 200 {
		t.Fatal(metrics)
	}
	for _, reason := range []string{"missing_token", "wrong_audience", "unknown_api_key"} {
		if !strings.Contains(metrics, `attach_auth_failures_total{reason="`+reason+`"}`) {
			t.Errorf("no %s in the auth failures metric", reason)
		}
	}
	// A token for this server's URL is accepted.
	resp, out := call(t, "POST", s.url, s.idp.Token(t, s.url), init, "Accept", "application/json, text/event-stream")
	if resp.StatusCode != 200 || !strings.Contains(out, "attach-mcptest") {
		t.Fatalf("token for the server: %d %s", resp.StatusCode, out)
	}
	if s.srv.Hits() != before+1 {
		t.Fatalf("hits %d, want %d", s.srv.Hits(), before+1)
	}
}

// A server that refuses the gateway's credential is a 502 naming the
// credential; its challenge, which names its own authorization server,
// never reaches the client.
func TestMCPServerRefusesTheCredential(t *testing.T) {
	t.Parallel()
	s := startMCPSetup(t, mcptest.Options{})
	admin := adminClient(t, s.gw)
	admin.do("PUT", "/teams/research/mcp-servers/tools", `{"name":"tools","url":"`+s.srv.URL()+`","credential":"a-wrong-credential"}`, 200)
	waitFor(t, "the new credential", func() bool {
		t, _ := s.gw.dir.Team("research")
		m, _ := t.MCPServer("tools")
		return m.Credential == "a-wrong-credential"
	})
	init := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{"note":"refused"}}}`
	resp, out := call(t, "POST", s.url, s.memKey, init, "Accept", "application/json, text/event-stream")
	if resp.StatusCode != 502 || errorCode(t, out) != "mcp_credential_refused" || !strings.Contains(out, "credential") {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
		t.Fatalf("the server's challenge reached the client: %s", ch)
	}
	if strings.Contains(out, "a-wrong-credential") {
		t.Fatal("the credential is in the answer")
	}
	// The failed call is remembered with why.
	calls := s.toolCalls(t, 1)
	if !strings.Contains(calls[0].Content, "refused the gateway's credential") {
		t.Fatalf("tool call event: %+v", calls[0])
	}
}

// The protected resource metadata (RFC 9728) names the resource and the
// team's issuers; unknown teams and servers are 404.
func TestMCPResourceMetadata(t *testing.T) {
	t.Parallel()
	s := startMCPSetup(t, mcptest.Options{})
	resp, out := call(t, "GET", s.gw.URL+"/.well-known/oauth-protected-resource/t/research/mcp/tools", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	var md struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		BearerMethods        []string `json:"bearer_methods_supported"`
		ResourceName         string   `json:"resource_name"`
	}
	if err := json.Unmarshal([]byte(out), &md); err != nil {
		t.Fatal(err)
	}
	if md.Resource != s.url || !slices.Equal(md.AuthorizationServers, []string{s.idp.Issuer()}) ||
		!slices.Equal(md.BearerMethods, []string{"header"}) || md.ResourceName == "" {
		t.Fatalf("metadata: %s", out)
	}
	for _, path := range []string{"/t/research/mcp/nope", "/t/nope/mcp/tools"} {
		resp, out := call(t, "GET", s.gw.URL+"/.well-known/oauth-protected-resource"+path, "", "")
		if resp.StatusCode != 404 || errorCode(t, out) == "" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		resp, out = call(t, "POST", s.gw.URL+path, s.memKey, "{}")
		if resp.StatusCode != 404 || errorCode(t, out) == "" {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
		}
	}
	resp, _ = call(t, "PUT", s.url, s.memKey, "{}")
	if resp.StatusCode != 405 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	_ = io.Discard
}
