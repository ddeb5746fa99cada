package app

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// TestConsoleE2EInvites: an admin makes an invite bound to an address and
// one for anyone with the link; the bound one signs up only as its address,
// and single sign-on as someone else is shown whom the invite is for.
func TestConsoleE2EInvites(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	ln := listenLoopback(t)
	public := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{public + "/console/sso/callback"}})
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.ConsoleOIDCIssuer = idp.Issuer()
	cfg.ConsoleOIDCClientID, cfg.ConsoleOIDCClientSecret = idp.LoginClient()
	gw := startGatewayOn(t, cfg, ln)
	owner := consoleAccount(t, gw, "olga@example.test", "Olga Owner")
	team := teamWithEngine(t, gw, owner, "lab", eng.URL(), "tiny")
	// Every browser starts before the first screenshot: each start empties
	// the test's screenshot folder.
	ui, mallory, guest, late, joiner := newConsoleUI(t), newConsoleUI(t), newConsoleUI(t), newConsoleUI(t), newConsoleUI(t)
	ui.signIn(gw, owner.Email, e2ePassword)

	// Two invites: one bound to grace, one for anyone with the link.
	ui.open(gw.URL + "/console/t/lab/members")
	ui.fill("#email", "grace@example.test")
	ui.clickToLoad("#send-invite")
	graceLink := ui.text("#invite-link")
	ui.click("#anyone")
	ui.clickToLoad("#send-invite")
	anyoneLink := ui.text("#invite-link")
	if title := ui.text("#invite-link-title"); title != "Invite for anyone with the link ready" {
		t.Errorf("new invite titled %q", title)
	}
	if got := ui.text("#invites-table"); !strings.Contains(got, "grace@example.test") || !strings.Contains(got, "anyone with the link") {
		t.Errorf("pending invites read %q", got)
	}
	ui.shot("01-members-bound-and-anyone")

	// Single sign-on as someone else: the page says whom the invite is for.
	mallory.open(graceLink)
	mallory.clickToLoad("#invite-sso")
	mallory.fill(`input[name="login"]`, "mallory")
	mallory.fill(`input[name="password"]`, "any password")
	mallory.clickToLoad(`button[type="submit"]`)
	mallory.Do(t, chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)))
	if resp := mallory.clickToLoad(`button[type="submit"]`); resp.Status != 403 {
		t.Errorf("invite page for the wrong address answered %d, want 403", resp.Status)
	}
	if got := mallory.text(`[data-testid="invite-refused"]`); !strings.Contains(got, "This invite is for grace@example.test, and you are signed in as mallory@example.test") {
		t.Errorf("refusal reads %q", got)
	}
	if n := uiEval[int](mallory, `document.querySelectorAll('#accept-invite').length`); n != 0 {
		t.Error("the wrong account is offered to join")
	}
	mallory.shot("02-sso-wrong-address-refused")

	// The bound link signs up grace only: the address cannot be changed.
	guest.open(graceLink)
	if v := guest.value("#email"); v != "grace@example.test" {
		t.Errorf("sign-up email %q", v)
	}
	if !uiEval[bool](guest, `document.querySelector('#email').readOnly`) {
		t.Error("the invited address can be edited")
	}
	guest.fill("#name", "Grace Guest")
	guest.fill("#password", e2ePassword)
	guest.fill("#password2", e2ePassword)
	guest.shot("03-bound-invite-sign-up")
	guest.clickToLoad("#invite-signup")
	if loc := guest.location(); loc.Path != "/console/t/lab" {
		t.Fatalf("after sign-up the browser is at %s", loc)
	}
	grace, err := gw.store.GetUserByEmail(context.Background(), "grace@example.test")
	if err != nil || !grace.EmailVerified {
		t.Fatalf("grace = %+v, %v", grace, err)
	}
	if _, err := gw.store.RoleOf(context.Background(), team.ID, grace.ID); err != nil {
		t.Fatalf("grace did not join: %v", err)
	}
	// The link works once.
	if resp := late.open(graceLink); resp.Status != 404 {
		t.Errorf("spent link answered %d", resp.Status)
	}

	// The anyone link shows itself as such.
	joiner.open(anyoneLink)
	if got := joiner.text(`[data-testid="invite-for"]`); got != "anyone with the link" {
		t.Errorf("anyone invite is for %q", got)
	}
	joiner.shot("04-anyone-invite")
}
