package app

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestConsoleE2ELimits: on a 360 px phone an owner opens the Limits page,
// types a negative limit and is told so next to the field, then limits the
// team to one request a minute and saves. The gateway applies it: the
// team's second request is 429 naming team.rpm, and the engine never sees
// it.
func TestConsoleE2ELimits(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng, gw, _, ui := signedInLab(t, "limits@example.test", "Lim Its", "", "tiny")
	team, _ := gw.store.GetTeam(t.Context(), "lab")
	_, key, err := gw.store.CreateAPIKey(t.Context(), team.ID, tenants.APIKeyInput{Name: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key on the request path", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", key, chatBody)
		return resp.StatusCode == 200
	})
	ui.Do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))

	ui.open(gw.URL + "/console/t/lab/limits")
	if w := uiEval[int](ui, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the Limits page at 360 px is %d px wide", w)
	}
	ui.fill("#team_rpm", "-1")
	ui.clickToLoad("#save-limits")
	if msg := ui.text(`[data-testid="team_rpm-error"]`); !strings.Contains(msg, "0 (blocks) or more") {
		t.Fatalf("error next to the field: %q", msg)
	}
	if got := ui.value("#team_rpm"); got != "-1" {
		t.Fatalf("the form lost what was typed: %q", got)
	}
	ui.shot("360-limits-error")

	ui.fill("#team_rpm", "1")
	ui.clickToLoad("#save-limits")
	if p := ui.location(); p.Path != "/console/t/lab/limits" || p.Query().Get("done") != "limits-saved" {
		t.Fatalf("after saving: %s", p)
	}
	if !strings.Contains(ui.text("main"), "Limits saved.") || ui.value("#team_rpm") != "1" {
		t.Fatalf("saved page: %q, team_rpm %q", ui.text("main"), ui.value("#team_rpm"))
	}
	ui.shot("360-limits-saved")

	waitFor(t, "the limit on the request path", func() bool {
		s, ok := gw.dir.Team("lab")
		return ok && s.Quotas != nil
	})
	before := eng.hits.Load()
	var codes []int
	for range 2 {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", key, chatBody)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 429 || eng.hits.Load()-before != 1 {
		t.Fatalf("statuses %v, engine saw %d", codes, eng.hits.Load()-before)
	}
}
