package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestConsoleE2EReloadAfterCreate creates an API key and an invite in
// Chromium, then reloads each page: the secret is shown on the first load
// only, and the reload makes no second key or invite.
func TestConsoleE2EReloadAfterCreate(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, gw, _, ui := signedInLab(t, "reload@example.test", "Rey Reload", "", "tiny")
	team, err := gw.store.GetTeam(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}

	ui.open(gw.URL + "/console/t/lab/keys")
	ui.fill("#name", "reload agent")
	if resp := ui.clickToLoad("#create-key"); resp.Status != 200 {
		t.Fatalf("create key: the page after it answered %d", resp.Status)
	}
	if loc := ui.location(); loc.Path != "/console/t/lab/keys" || loc.Query().Get("created") == "" {
		t.Fatalf("after the create the browser is at %s", loc)
	}
	key := ui.text("#new-key-secret")
	if !strings.HasPrefix(key, "atk_") {
		t.Fatalf("key shown as %q", key)
	}
	ui.shot("01-key-created")

	ui.reload()
	html := uiEval[string](ui, `document.documentElement.outerHTML`)
	if strings.Contains(html, key) {
		t.Error("the reload shows the key's secret again")
	}
	if !strings.Contains(ui.text(`[data-testid="key-already-shown"]`), "revoke the key and create a new one") {
		t.Error("the reload does not say the secret was shown already")
	}
	if n := uiEval[int](ui, `document.querySelectorAll('[data-testid="key-row"]').length`); n != 1 {
		t.Errorf("after the reload the page lists %d keys", n)
	}
	keys, _, err := gw.store.ListAPIKeys(context.Background(), team.ID, tenants.Page{})
	if err != nil || len(keys) != 1 {
		t.Fatalf("after the reload the team has %d keys (%v), want 1", len(keys), err)
	}
	ui.shot("02-key-page-reloaded")

	ui.open(gw.URL + "/console/t/lab/members")
	ui.fill("#email", "guest@example.test")
	ui.clickToLoad("#send-invite")
	link := ui.text("#invite-link")
	if !strings.Contains(link, "/console/invite/") {
		t.Fatalf("invite link shown as %q", link)
	}
	if strings.Contains(ui.location().String(), "/console/invite/") {
		t.Fatal("the invite link is in the page's address")
	}
	ui.shot("03-invite-created")
	ui.reload()
	if strings.Contains(uiEval[string](ui, `document.documentElement.outerHTML`), link) {
		t.Error("the reload shows the invite link again")
	}
	ui.text(`[data-testid="invite-already-shown"]`)
	invites, err := gw.store.ListInvites(context.Background(), team.ID)
	if err != nil || len(invites) != 1 {
		t.Fatalf("after the reload the team has %d invites (%v), want 1", len(invites), err)
	}
	ui.shot("04-invite-page-reloaded")
}

// reload reloads the page as the browser's reload button does and waits
// for it to load.
func (ui *consoleUI) reload() {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.Context(), 30*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Reload()); err != nil {
		ui.t.Fatalf("reload: %v", err)
	}
}
