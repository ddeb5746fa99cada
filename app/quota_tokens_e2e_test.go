package app

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/testkit/ollamatest"
)

// A team's tokens-per-minute limit is charged with the counts a real
// Ollama reports, through the proxy's meter: once the exchanges have used
// the minute's tokens, the next chat is refused with 429 before it reaches
// the engine, and the ledger holds no more than was admitted.
func TestQuotaTokensChargedFromTheEngine(t *testing.T) {
	t.Parallel()
	eng := ollamatest.Start(t)
	cfg := testConfig(t)
	cfg.UpstreamTimeout = 2 * time.Minute // the first request loads the model
	gw := startGateway(t, cfg)
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"lab","name":"Lab"}`, 201)
	admin.post("/teams/lab/engines", `{"name":"ollama","dialect":"ollama","base_url":"`+eng.URL+`","models":["tiny"],"default":true}`, 201)
	key := memKey(t, gw, "lab")
	// One chat of the tiny model is some 40 tokens: 100 a minute admits a
	// few, never many.
	setQuotas(t, []*gateway{gw}, `{"team":{"tpm":100}}`)

	var answered int
	var refusal string
	for i := range 20 {
		resp, body := call(t, "POST", gw.URL+"/t/lab/api/chat", key,
			`{"model":"tiny","stream":false,"messages":[{"role":"user","content":"spend tokens `+strconv.Itoa(i)+`"}]}`)
		if resp.StatusCode == 429 {
			refusal = body
			if resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Policy") == "" {
				t.Errorf("429 without Retry-After or RateLimit-Policy: %v", resp.Header)
			}
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("chat %d: %d %s", i, resp.StatusCode, body)
		}
		answered++
	}
	if refusal == "" {
		t.Fatalf("20 chats answered under a 100 tokens/min limit")
	}
	var e struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(refusal), &e); err != nil || e.Error.Code != "quota_exceeded" || e.Error.Field != "team.tpm" {
		t.Errorf("refusal = %s, want quota_exceeded naming team.tpm", refusal)
	}
	if answered < 2 || answered > 4 {
		t.Errorf("%d chats answered before the refusal; ~40 tokens each against 100 admits 2 to 4", answered)
	}
	t.Logf("%d chats answered, then: %s", answered, refusal)
}
