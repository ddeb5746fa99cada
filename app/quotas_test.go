package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// quotaClock fixes the quota windows' clock mid-minute, so no test run
// straddles two windows.
func quotaClock() time.Time { return time.Date(2026, 12, 1, 10, 30, 20, 0, time.UTC) }

// quotaLab is a team "lab" with an engine and an API key, made through the
// management API of the first gateway; it returns the key and its id.
func quotaLab(t *testing.T, gws []*gateway, eng *engine) (key, keyID, teamID string) {
	t.Helper()
	admin := adminClient(t, gws[0])
	team := admin.post("/teams", `{"slug":"lab","name":"Lab"}`, 201)
	admin.post("/teams/lab/engines", `{"name":"e","dialect":"ollama","base_url":"`+eng.URL()+`","models":["tiny"],"default":true}`, 201)
	k := admin.post("/teams/lab/keys", `{"name":"agent"}`, 201)
	key, keyID = k["key"].(string), k["id"].(string)
	for _, gw := range gws {
		waitFor(t, "the key on every replica", func() bool {
			resp, _ := call(t, "POST", gw.URL+"/t/lab/api/tags", key, "")
			return resp.StatusCode != 401
		})
	}
	return key, keyID, team["id"].(string)
}

// setQuotas puts quotas through the first gateway and waits until every
// replica's directory has them.
func setQuotas(t *testing.T, gws []*gateway, body string) {
	t.Helper()
	adminClient(t, gws[0]).do("PUT", "/teams/lab/quotas", body, 200)
	want := mustJSON(adminClient(t, gws[0]).do("GET", "/teams/lab/quotas", "", 200))
	for _, gw := range gws {
		waitFor(t, "the quotas on every replica", func() bool {
			s, ok := gw.dir.Team("lab")
			if !ok || s.Quotas == nil {
				return false
			}
			var m map[string]any
			_ = json.Unmarshal([]byte(mustJSON(quotasOut(s.Quotas))), &m)
			return mustJSON(m) == want
		})
	}
}

// hammerGateways sends total chat requests from 16 goroutines, each to the
// next gateway in turn, and returns how many got 200; any other status than
// 200 and 429 fails the test.
func hammerGateways(t *testing.T, gws []*gateway, key string, total int, after func(gw *gateway)) (admitted int64) {
	t.Helper()
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				gw := gws[i%int64(len(gws))]
				req, _ := http.NewRequest("POST", gw.URL+"/t/lab/api/chat", strings.NewReader(chatBody))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
					if after != nil {
						after(gw)
					}
				case 429:
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	return ok.Load()
}

// Three gateways on one Postgres, 600 requests in a minute spread over them
// from 16 goroutines against a team limit of 300 requests a minute: at most
// 300, at least 98 % of it, and the engine sees exactly those admitted.
// Then the same for tokens: a key limited to 30,000 tokens a minute, each
// answer charged 100 tokens (as the proxy's meter does).
func TestQuotasHoldAcrossReplicas(t *testing.T) {
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.quotaNow = quotaClock
	// No request may be decided without Postgres on a busy test machine.
	cfg.QuotaDBBudget = time.Minute
	gws := []*gateway{startGateway(t, cfg), startGateway(t, cfg), startGateway(t, cfg)}
	key, keyID, _ := quotaLab(t, gws, eng)

	setQuotas(t, gws, `{"team":{"rpm":300}}`)
	before := eng.hits.Load()
	admitted := hammerGateways(t, gws, key, 600, nil)
	hits := eng.hits.Load() - before
	t.Logf("requests: admitted %d of 600, limit 300; engine saw %d", admitted, hits)
	if admitted > 300 || admitted < 294 {
		t.Fatalf("admitted %d, want 294..300", admitted)
	}
	if hits != admitted {
		t.Fatalf("engine saw %d requests, %d were admitted", hits, admitted)
	}
	for _, gw := range gws {
		if s := gw.quotas.Stats(); s.Local > 0 {
			t.Fatalf("a replica decided %d requests without Postgres", s.Local)
		}
	}

	// Tokens: no request limit now, 30,000 tokens a minute on the key;
	// the engine reports 100 for each answer, which the proxy's meter
	// charges.
	setQuotas(t, gws, `{"keys":[{"key_id":"`+keyID+`","tpm":30000}]}`)
	eng.mu.Lock()
	eng.counts = `"prompt_eval_count":40,"eval_count":60`
	eng.mu.Unlock()
	admitted = hammerGateways(t, gws, key, 600, nil)
	tokens := admitted * 100
	// Requests in flight when the tokens ran out are still charged: at
	// most one per goroutine (16 × 100) past the limit.
	t.Logf("tokens: %d charged for %d requests, limit 30000", tokens, admitted)
	if got := tokens; got > 30000+1600 || got < 30000*98/100 {
		t.Fatalf("tokens %d, want %d..%d", got, 30000*98/100, 30000+1600)
	}
}

// A refused request is 429 with Retry-After, RateLimit-Policy and
// RateLimit, a JSON error naming the limit, and never reaches the engine.
func TestQuotaRefusalShape(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.quotaNow = quotaClock
	gws := []*gateway{startGateway(t, cfg)}
	key, _, _ := quotaLab(t, gws, eng)
	setQuotas(t, gws, `{"team":{"rpm":1}}`)

	before := eng.hits.Load()
	if resp, body := call(t, "POST", gws[0].URL+"/t/lab/api/chat", key, chatBody); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "POST", gws[0].URL+"/t/lab/v1/chat/completions", key, `{"model":"tiny","messages":[]}`)
	if resp.StatusCode != 429 {
		t.Fatalf("second request: %d %s", resp.StatusCode, body)
	}
	// The clock stands at 10:30:20: the minute ends in 40 s.
	if got := resp.Header.Get("Retry-After"); got != "40" {
		t.Errorf("Retry-After %q", got)
	}
	if got := resp.Header.Get("RateLimit-Policy"); got != `"team-rpm";q=1;w=60` {
		t.Errorf("RateLimit-Policy %q", got)
	}
	if got := resp.Header.Get("RateLimit"); got != `"team-rpm";r=0;t=40` {
		t.Errorf("RateLimit %q", got)
	}
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body %q", body)
	}
	if e.Error.Code != "quota_exceeded" || e.Error.Field != "team.rpm" || !strings.Contains(e.Error.Message, "1 requests per minute") {
		t.Errorf("error %+v", e.Error)
	}
	if n := eng.hits.Load() - before; n != 1 {
		t.Fatalf("engine saw %d requests, want only the admitted one", n)
	}
	_, metrics := call(t, "GET", gws[0].URL+"/metrics", "", "")
	if !strings.Contains(metrics, `attach_quota_refusals_total{limit="team.rpm"} 1`) || !strings.Contains(metrics, "attach_quota_leases_total") {
		t.Errorf("metrics lack the refusal or the leases")
	}
	// Zero blocks.
	setQuotas(t, gws, `{"team":{"tokens_per_day":0}}`)
	resp, body = call(t, "POST", gws[0].URL+"/t/lab/api/chat", key, chatBody)
	if resp.StatusCode != 429 || !strings.Contains(body, `"team.tokens_per_day"`) {
		t.Fatalf("under a zero limit: %d %s", resp.StatusCode, body)
	}
	if n := eng.hits.Load() - before; n != 1 {
		t.Fatalf("engine saw %d requests", n)
	}
}

// The management API shows and replaces quotas; bad limits are 422 naming
// the field, and change nothing.
func TestQuotasManagementAPI(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	gws := []*gateway{startGateway(t, testConfig(t))}
	_, keyID, _ := quotaLab(t, gws, eng)
	admin := adminClient(t, gws[0])

	if got := mustJSON(admin.do("GET", "/teams/lab/quotas", "", 200)); got != `{"keys":[],"team":{"monthly_tokens":null,"rpm":null,"tokens_per_day":null,"tpm":null},"users":[]}` {
		t.Fatalf("no quotas: %s", got)
	}
	put := `{"team":{"rpm":600,"monthly_tokens":5000000},"users":[{"subject":"*","tpm":20000}],"keys":[{"key_id":"` + keyID + `","rpm":60}]}`
	got := admin.do("PUT", "/teams/lab/quotas", put, 200)
	if mustJSON(got) != mustJSON(admin.do("GET", "/teams/lab/quotas", "", 200)) {
		t.Fatal("GET differs from PUT's answer")
	}
	if team := got["team"].(map[string]any); team["rpm"] != 600.0 || team["monthly_tokens"] != 5e6 || team["tpm"] != nil {
		t.Fatalf("team limits %v", team)
	}

	for body, field := range map[string]string{
		`{"team":{"rpm":-1}}`:                           "team.rpm",
		`{"team":{"tpm":1e30}}`:                         "team.tpm",
		`{"team":{"rpm":10000001}}`:                     "team.rpm",
		`{"team":{"tokens_per_day":2.5}}`:               "team.tokens_per_day",
		`{"users":[{"subject":"a","tpm":-100}]}`:        "users[0].tpm",
		`{"users":[{"subject":"","tpm":1}]}`:            "users[0].subject",
		`{"keys":[{"key_id":"not-a-key","rpm":1}]}`:     "keys[0].key_id",
		`{"keys":[{"key_id":"*","monthly_tokens":-3}]}`: "keys[0].monthly_tokens",
	} {
		resp, b := call(t, "PUT", gws[0].URL+"/admin/v1/teams/lab/quotas", gws[0].cfg.AdminToken, body)
		var e struct {
			Error struct{ Code, Field string } `json:"error"`
		}
		_ = json.Unmarshal([]byte(b), &e)
		if resp.StatusCode != 422 || e.Error.Field != field || e.Error.Code != attach.CodeInvalid {
			t.Errorf("%s: %d %s, want 422 on %s", body, resp.StatusCode, b, field)
		}
	}
	if mustJSON(admin.do("GET", "/teams/lab/quotas", "", 200)) != mustJSON(got) {
		t.Fatal("a refused PUT changed the quotas")
	}
	admin.do("GET", "/teams/nope/quotas", "", 404)
	admin.do("PUT", "/teams/lab/quotas", `{"team":{"rpm":"many"}}`, 400)
}

// Side-car mode: MAX_TOKENS_PER_MIN limits each user of the default team,
// as the original gateway did.
func TestSidecarMaxTokensPerMin(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg, err := LoadConfig(func(k string) string {
		if k == "MAX_TOKENS_PER_MIN" {
			return "500"
		}
		return ""
	})
	if err != nil || cfg.MaxTokensPerMin != 500 {
		t.Fatalf("config: %v %d", err, cfg.MaxTokensPerMin)
	}
	cfg = testConfig(t)
	cfg.MaxTokensPerMin = 500
	cfg.quotaNow = quotaClock
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	gw := startGateway(t, cfg)
	tok := idp.Token(t, "api://default")

	if resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	team, _ := gw.dir.Team("default")
	gw.quotas.Measure(attach.Usage{TeamID: team.Team.ID, User: "gateway-rs256", PromptTokens: 200, CompletionTokens: 300})
	var resp *http.Response
	var body string
	waitFor(t, "the tokens charged", func() bool {
		resp, body = call(t, "POST", gw.URL+"/api/chat", tok, chatBody)
		return resp.StatusCode == 429
	})
	if !strings.Contains(body, `"field":"user.tpm"`) || resp.Header.Get("RateLimit-Policy") != `"user-tpm";q=500;w=60` {
		t.Fatalf("refusal: %s %v", body, resp.Header)
	}
	if n, _ := strconv.Atoi(resp.Header.Get("Retry-After")); n != 40 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}

	for _, bad := range []string{"-5", "lots", "1e30"} {
		if _, err := LoadConfig(func(k string) string {
			if k == "MAX_TOKENS_PER_MIN" {
				return bad
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), "MAX_TOKENS_PER_MIN") {
			t.Errorf("MAX_TOKENS_PER_MIN=%s: %v", bad, err)
		}
	}
}

// Postgres cut off: requests of a caller with no lease yet are decided on
// the replica's own count, without waiting past the budget: the limit
// still holds on this replica, and nothing hangs.
func TestQuotasWhilePostgresIsAway(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.quotaNow = quotaClock
	cfg.MemBackend = "none"
	direct, err := pgxpool.New(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	link, dsn := testkit.PostgresLink(t, direct)
	cfg.DatabaseURL = dsn
	gws := []*gateway{startGateway(t, cfg)}
	key, _, _ := quotaLab(t, gws, eng)
	setQuotas(t, gws, `{"keys":[{"key_id":"*","rpm":3}]}`)

	link.Cut()
	defer link.Mend()
	before := eng.hits.Load()
	var codes []int
	for range 5 {
		resp, _ := call(t, "POST", gws[0].URL+"/t/lab/api/chat", key, chatBody)
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("statuses with postgres away: %v", codes)
	}
	if n := eng.hits.Load() - before; n != 3 {
		t.Fatalf("engine saw %d requests", n)
	}
}
