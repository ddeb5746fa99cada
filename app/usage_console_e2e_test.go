package app

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/deploy/testkit/ollamatest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// The Usage page, as an owner and as a member, in a real Chromium: chats
// through the gateway to a real Ollama with an API key, and a member's
// earlier usage, show up in the chart, the tables, the CSV and the Keys
// page, with the counts the ledger holds; at 360 px in both themes.
func TestConsoleE2EUsagePage(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := ollamatest.Start(t)
	cfg := testConfig(t)
	cfg.UpstreamTimeout = 2 * time.Minute // the first request loads the model
	gw := startGateway(t, cfg)
	ctx := context.Background()
	owner := consoleAccount(t, gw, "usage-owner@example.test", "Uma Owner")
	team := teamWithEngine(t, gw, owner, "lab", eng.URL, "tiny")
	member := consoleAccount(t, gw, "usage-member@example.test", "Mo Member")
	if err := gw.store.AddMember(ctx, team.ID, member.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	key := memKey(t, gw, "lab")

	for i := range 3 {
		resp, body := call(t, "POST", gw.URL+"/t/lab/api/chat", key,
			`{"model":"tiny","stream":`+strconv.FormatBool(i%2 == 0)+`,"messages":[{"role":"user","content":"count me `+strconv.Itoa(i)+`"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("chat %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// The member chatted from the console two hours ago (written as the
	// ledger writes it: the chart needs more than the current hour).
	// Two hours ago, but today (UTC): the page's "today" must count it.
	now := time.Now().UTC()
	earlier := now.Add(-2 * time.Hour)
	if midnight := now.Truncate(24 * time.Hour); earlier.Before(midnight) {
		earlier = midnight
	}
	wantBars := 2
	if earlier.Truncate(time.Hour).Equal(now.Truncate(time.Hour)) {
		wantBars = 1 // just after midnight: one hour's bar holds both
	}
	if err := gw.ledger.Store().Write(ctx, []attach.Usage{{
		TeamID: team.ID, User: attach.UserSubject(member.ID), Engine: "gpu-box", Model: "tiny",
		Path: "/api/chat", PromptTokens: 1200, CompletionTokens: 34, Status: 200, Time: earlier,
	}}); err != nil {
		t.Fatal(err)
	}
	var keyTokens, teamTokens int64
	pollUntil(t, 30*time.Second, "the key's three exchanges in the ledger", func() bool {
		var n int
		err := gw.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0)
			FROM usage_records WHERE team_id = $1 AND key_id <> ''`, team.ID).Scan(&n, &keyTokens)
		return err == nil && n == 3
	})
	teamTokens = keyTokens + 1234
	if keyTokens == 0 {
		t.Fatal("the ledger counted no tokens for the key")
	}

	// Limits beside the usage: every user 1,300 tokens a day (the member
	// is at 94 %), the team 1,000,000 a day.
	setQuotas(t, []*gateway{gw}, `{"team":{"tokens_per_day":1000000},"users":[{"subject":"*","tokens_per_day":1300}],"keys":[{"key_id":"*","rpm":60}]}`)

	ui := newConsoleUI(t)
	ui.signIn(gw, owner.Email, e2ePassword)
	ui.open(gw.URL + "/console/t/lab/usage")
	if got := ui.text(`[data-testid="usage-total"] strong`); got != thousandsOf(teamTokens) {
		t.Errorf("owner's total = %q, the ledger holds %d", got, teamTokens)
	}
	if bars := uiEval[int](ui, `document.querySelectorAll("#usage-chart [data-testid=chart-bar]").length`); bars != wantBars {
		t.Errorf("the chart has %d bars, want %d: the member's hour and the key's", bars, wantBars)
	}
	users := ui.text("#usage-users")
	for _, want := range []string{"Mo Member", "memory test key (API key)", "1,234"} {
		if !strings.Contains(users, want) {
			t.Errorf("the users table lacks %q:\n%s", want, users)
		}
	}
	if keys := ui.text("#usage-keys"); !strings.Contains(keys, thousandsOf(keyTokens)) || !strings.Contains(keys, "60 requests/min") {
		t.Errorf("the keys table lacks the key's %d tokens or its limit:\n%s", keyTokens, keys)
	}
	near := uiEval[[]string](ui, `Array.from(document.querySelectorAll("#usage-users td.near")).map(td => td.textContent)`)
	if len(near) != 1 || near[0] != "1,234 of 1,300 (94 %)" {
		t.Errorf("cells marked near the daily limit: %q, want the member's 1,234 of 1,300 (94 %%)", near)
	}
	if limits := ui.text(`[data-testid="team-limits"]`); !strings.Contains(limits, "Today: "+thousandsOf(teamTokens)+" of 1,000,000 (0 %)") {
		t.Errorf("team limits: %q", limits)
	}
	ui.shot("usage-owner-1280")

	// The CSV holds the same tokens, one row per bucket and group.
	csv := browsertest.Get(t, ui.Browser, chromedp.Evaluate[string](`fetch("/console/t/lab/usage.csv?range=24h&by=user").then(r => r.text())`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if !strings.HasPrefix(lines[0], "start,user,name,requests,prompt_tokens,completion_tokens,total_tokens") {
		t.Fatalf("CSV header: %q", lines[0])
	}
	var csvTokens int64
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		n, _ := strconv.ParseInt(cells[6], 10, 64)
		csvTokens += n
	}
	if csvTokens != teamTokens {
		t.Errorf("the CSV adds up to %d tokens, the ledger %d:\n%s", csvTokens, teamTokens, csv)
	}

	// The Keys page shows each key's last 24 hours.
	ui.open(gw.URL + "/console/t/lab/keys")
	if got := ui.text(`[data-testid="key-tokens"]`); got != thousandsOf(keyTokens) {
		t.Errorf("Keys page: %q tokens, the ledger %d", got, keyTokens)
	}

	// At 360 px the page fits, light and dark.
	ui.Do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
	ui.open(gw.URL + "/console/t/lab/usage?by=user")
	if w := uiEval[int](ui, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the usage page at 360 px is %d px wide", w)
	}
	ui.shot("usage-owner-360")
	colorScheme(t, ui, "dark")
	ui.open(gw.URL + "/console/t/lab/usage?by=user")
	ui.shot("usage-owner-360-dark")
	colorScheme(t, ui, "")

	// A member sees their own usage only, and no keys.
	mui := newConsoleUI(t)
	mui.signIn(gw, member.Email, e2ePassword)
	mui.open(gw.URL + "/console/t/lab/usage")
	if got := mui.text(`[data-testid="usage-total"] strong`); got != "1,234" {
		t.Errorf("member's total = %q, want their own 1,234", got)
	}
	if n := uiEval[int](mui, `document.querySelectorAll("#usage-keys").length`); n != 0 {
		t.Error("a member sees the keys table")
	}
	if users := mui.text("#usage-users"); strings.Contains(users, "API key") {
		t.Errorf("a member sees others' usage:\n%s", users)
	}
}

func thousandsOf(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
