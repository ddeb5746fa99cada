package app

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

// TestConsoleE2EAccountPage opens the account page from the header, changes
// the name, sees every password error at once, and is refused leaving the
// team it alone owns.
func TestConsoleE2EAccountPage(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	_, _, _, ui := signedInLab(t, "olga@example.test", "Olga Owner", "", "tiny")

	ui.clickToLoad("#account-link")
	if p := strings.TrimSuffix(ui.location().Path, "/"); p != "/console/account" {
		t.Fatalf("the header's name led to %s", p)
	}
	if n := uiEval[int](ui, `document.querySelectorAll('[data-testid="session-row"]').length`); n != 1 {
		t.Errorf("%d sessions listed, want this one", n)
	}
	ui.waitVisible(`[data-testid="this-session"]`)
	ui.shot("account-01-page")

	ui.fill("#name", "Olga O.")
	ui.clickToLoad("#save-name")
	if got := ui.text(`[data-testid="notice"]`); got != "Name saved." {
		t.Errorf("notice after saving the name: %q", got)
	}
	if who := ui.text(`[data-testid="current-user"]`); who != "Olga O." {
		t.Errorf("header shows %q after the rename", who)
	}

	ui.fill("#current_password", "not the password")
	ui.fill("#password", "short")
	ui.fill("#confirm_password", "other")
	ui.clickToLoad("#change-password")
	for _, f := range []string{"current_password", "password", "confirm_password"} {
		ui.waitVisible(`[data-testid="` + f + `-error"]`)
	}
	ui.shot("account-02-password-errors")

	ui.click("#leave-lab-open")
	ui.clickToLoad("#leave-lab")
	if got := ui.text(`[data-testid="team-problem"]`); !strings.Contains(got, "last owner of") {
		t.Errorf("leaving the team alone owned says %q", got)
	}
	ui.shot("account-03-last-owner")
}

// TestConsoleE2ESSOSignOutAtProvider signs in with single sign-on, opens
// the account page (no password here), signs out, confirms at the
// provider and lands on the console's sign-in page; the next single
// sign-on asks for the login again.
func TestConsoleE2ESSOSignOutAtProvider(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	ln := listenLoopback(t)
	public := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{
		RedirectURIs:           []string{public + "/console/sso/callback"},
		PostLogoutRedirectURIs: []string{public + "/console/signin?done=signed-out"},
	})
	cfg := testConfig(t)
	cfg.ConsoleOIDCIssuer = idp.Issuer()
	cfg.ConsoleOIDCClientID, cfg.ConsoleOIDCClientSecret = idp.LoginClient()
	gw := startGatewayOn(t, cfg, ln)
	ui := newConsoleUI(t)

	ui.open(gw.URL + "/console/signin")
	ui.clickToLoad("#sso")
	ui.fill(`input[name="login"]`, "ada")
	ui.fill(`input[name="password"]`, "any password")
	ui.clickToLoad(`button[type="submit"]`)
	ui.Do(t, chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)))
	ui.clickToLoad(`button[type="submit"]`)

	ui.clickToLoad("#account-link")
	ui.waitVisible(`[data-testid="password-managed"]`)
	ui.shot("account-04-sso")

	// Sign out: the console's page hands over to the provider, which asks.
	ui.clickToLoad("#signout")
	ui.Do(t, chromedp.WaitVisible(chromedp.CSS(`button[name="logout"][value="yes"]`)))
	if loc := ui.location(); !strings.HasPrefix(loc.String(), idp.Issuer()) {
		t.Fatalf("sign-out went to %s, not the provider", loc)
	}
	ui.shot("account-05-provider-sign-out")
	ui.clickToLoad(`button[name="logout"][value="yes"]`)
	if loc := ui.location(); loc.Path != "/console/signin" {
		t.Fatalf("after the provider's sign-out the browser is at %s", loc)
	}
	if got := ui.text(`[data-testid="notice"]`); got != "You are signed out." {
		t.Errorf("notice after sign-out: %q", got)
	}
	ui.shot("account-06-signed-out")

	// The provider forgot the browser: single sign-on asks again.
	ui.clickToLoad("#sso")
	ui.waitVisible(`input[name="login"]`)
}
