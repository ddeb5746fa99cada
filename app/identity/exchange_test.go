package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestExchangedTokens(t *testing.T) {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	x, err := NewExchanger("https://gw.example/", secret)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewDelegator("https://gw.example", secret)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	x.now = func() time.Time { return now }
	d.now = x.now
	team := tenants.NewSnapshot(attach.Team{ID: "team-lab", Slug: "lab"}, nil, nil, nil, nil, 1)
	other := tenants.NewSnapshot(attach.Team{ID: "team-other", Slug: "other"}, nil, nil, nil, nil, 1)
	v := NewVerifier(Config{Delegation: d, Exchange: x, Now: func() time.Time { return now }, CacheSize: -1})
	mint := func(e Exchange) string {
		t.Helper()
		tok, _, err := x.Mint(e)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := Exchange{TeamID: "team-lab", TeamSlug: "lab", Subject: "alice", Scopes: []string{"chat"}}
	at := func(aud string) Exchange { e := base; e.Audience = aud; return e }

	teamTok := mint(at("https://gw.example/t/lab"))
	p, err := v.Verify(ctx, team, teamTok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || p.Method != attach.MethodExchange || p.Audience != "https://gw.example/t/lab" ||
		p.Issuer != "https://gw.example" || strings.Join(p.Scopes, " ") != "chat" || !p.ExpiresAt.Equal(now.Add(ExchangeTTL)) {
		t.Errorf("principal = %+v", p)
	}
	claims := payload(t, teamTok)
	if claims["aud"] != "https://gw.example/t/lab" || claims["jti"] == "" || claims["iss"] != "https://gw.example" {
		t.Errorf("claims = %v", claims)
	}
	if hdr := jwtHeader(t, teamTok); !strings.HasPrefix(hdr["kid"].(string), "xch-") {
		t.Errorf("kid = %v", hdr["kid"])
	}
	refused(t, ReasonWrongAudience)(v.Verify(ctx, other, teamTok))

	// An agent's token verifies for the team (the route checks which
	// agent); an MCP server's only through VerifyResource at that server.
	agentTok := mint(at("https://gw.example/t/lab/a2a/coder"))
	if p, err := v.Verify(ctx, team, agentTok); err != nil || p.Audience != "https://gw.example/t/lab/a2a/coder" {
		t.Errorf("agent token: %+v %v", p, err)
	}
	mcp := "https://gw.example/t/lab/mcp/files"
	mcpTok := mint(at(mcp))
	refused(t, ReasonWrongAudience)(v.Verify(ctx, team, mcpTok))
	if p, err := v.VerifyResource(ctx, team, mcpTok, mcp); err != nil || p.Audience != mcp {
		t.Errorf("MCP token at its server: %+v %v", p, err)
	}
	refused(t, ReasonWrongAudience)(v.VerifyResource(ctx, team, mcpTok, mcp+"2"))
	refused(t, ReasonWrongAudience)(v.VerifyResource(ctx, team, teamTok, mcp))

	// A delegated caller's agent travels as act.
	dl := base
	dl.Audience, dl.Actor, dl.Session, dl.Task, dl.Depth = "https://gw.example/t/lab", "coder", "s1", "t1", 1
	dtok := mint(dl)
	if act, _ := payload(t, dtok)["act"].(map[string]any); act["sub"] != "coder" {
		t.Errorf("act = %v", payload(t, dtok)["act"])
	}
	if p, err := v.Verify(ctx, team, dtok); err != nil || p.Actor != "coder" || p.Session != "s1" || p.Task != "t1" || p.Depth != 1 {
		t.Errorf("delegated: %+v %v", p, err)
	}

	// Lifetimes: default, asked, capped, and nothing already over.
	if _, exp, _ := x.Mint(func() Exchange { e := at(teamAud); e.ExpiresAt = now.Add(3 * time.Hour); return e }()); !exp.Equal(now.Add(MaxExchangeTTL)) {
		t.Errorf("capped expiry = %v", exp)
	}
	if _, _, err := x.Mint(func() Exchange { e := at(teamAud); e.ExpiresAt = now.Add(-time.Second); return e }()); err == nil {
		t.Error("minted a token that is over already")
	}
	now = now.Add(ExchangeTTL + 2*time.Minute)
	refused(t, ReasonExpired)(v.Verify(ctx, team, teamTok))

	// A delegation key cannot sign an exchanged token, nor the reverse:
	// the kid picks the kind, and each kind has its own keys.
	dtoken, _, _ := d.Mint(Delegation{TeamID: "team-lab", TeamSlug: "lab", User: "alice", Actor: "coder", Depth: 1})
	forged := reKid(t, dtoken, "xch-"+strings.TrimPrefix(jwtHeader(t, dtoken)["kid"].(string), "dlg-"))
	refused(t, ReasonBadSignature)(v.Verify(ctx, team, forged))
	fresh := mint(at(teamAud))
	swapped := reKid(t, fresh, "dlg-"+strings.TrimPrefix(jwtHeader(t, fresh)["kid"].(string), "xch-"))
	refused(t, ReasonBadSignature)(v.Verify(ctx, team, swapped))

	// Another install's key does not verify.
	foreign, _ := NewExchanger("https://gw.example", []byte("another secret key of 32 bytes!!"))
	foreign.now = x.now
	ftok, _, _ := foreign.Mint(at(teamAud))
	refused(t, ReasonBadSignature)(v.Verify(ctx, team, ftok))

	keys, err := x.Keys()
	if err != nil || len(keys) != 3 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	kid := jwtHeader(t, fresh)["kid"]
	found := false
	for _, k := range keys {
		found = found || k.KeyID == kid
		if !k.IsPublic() || !strings.HasPrefix(k.KeyID, "xch-") {
			t.Errorf("published key %s public=%v", k.KeyID, k.IsPublic())
		}
	}
	if !found {
		t.Errorf("the signing kid %v is not published", kid)
	}
}

const teamAud = "https://gw.example/t/lab"

func jwtHeader(t *testing.T, tok string) map[string]any { return oidctest.JWTPart(t, tok, 0) }
func payload(t *testing.T, tok string) map[string]any   { return oidctest.JWTPart(t, tok, 1) }

// reKid rewrites a token's kid, keeping its signature.
func reKid(t *testing.T, tok, kid string) string {
	t.Helper()
	h := jwtHeader(t, tok)
	h["kid"] = kid
	b, _ := json.Marshal(h)
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// refused checks that a verification failed for reason.
func refused(t *testing.T, reason string) func(attach.Principal, error) {
	t.Helper()
	return func(p attach.Principal, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("accepted (%+v), want %s", p, reason)
			return
		}
		if got := AsError(err).Reason; got != reason {
			t.Errorf("refused with %s (%v), want %s", got, err, reason)
		}
	}
}
