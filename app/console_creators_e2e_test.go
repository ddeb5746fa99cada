package app

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/console"
)

// ssoSignIn signs login in through the provider's development pages and
// returns where the console lands.
func ssoSignIn(t *testing.T, ui *consoleUI, gw *gateway, login string) string {
	t.Helper()
	ui.open(gw.URL + "/console/signin")
	ui.clickToLoad("#sso")
	ui.fill(`input[name="login"]`, login)
	ui.fill(`input[name="password"]`, "any password")
	ui.clickToLoad(`button[type="submit"]`)
	ui.Do(t, chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)))
	ui.clickToLoad(`button[type="submit"]`)
	return ui.location().Path
}

// On a hosted install that lets only verified addresses at example.test
// create teams, a verified user creates one in the browser; a user whose
// provider did not verify the address sees no form, only who may.
func TestConsoleE2ETeamCreatorsByDomain(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	ln := listenLoopback(t)
	public := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{public + "/console/sso/callback"}})
	cfg := hostedConfig(t)
	var err error
	if cfg.TeamCreators, err = console.ParseTeamCreators("domain:example.test"); err != nil {
		t.Fatal(err)
	}
	cfg.ConsoleOIDCIssuer = idp.Issuer()
	cfg.ConsoleOIDCClientID, cfg.ConsoleOIDCClientSecret = idp.LoginClient()
	gw := startGatewayOn(t, cfg, ln)

	// Both browsers first: each start clears the test's screenshot folder.
	ada, bob := newConsoleUI(t), newConsoleUI(t)
	if p := ssoSignIn(t, ada, gw, "ada"); p != "/console/teams" {
		t.Fatalf("after sign-in ada is at %s", p)
	}
	ada.waitVisible("#team-form")
	ada.shot("01-verified-sees-form")
	ada.fill("#name", "Lab")
	ada.fill("#slug", "lab")
	ada.clickToLoad("#create-team")
	if p := strings.TrimSuffix(ada.location().Path, "/"); p != "/console/t/lab" {
		t.Fatalf("after creating the team ada is at %s", p)
	}

	if p := ssoSignIn(t, bob, gw, "unverified-bob"); p != "/console/teams" {
		t.Fatalf("after sign-in bob is at %s", p)
	}
	bob.waitVisible("#create-team-refused")
	if uiEval[bool](bob, `document.querySelector("#team-form") !== null || document.querySelector("#create-team") !== null`) {
		t.Error("an unverified user is shown the create-team form")
	}
	if got := bob.text("#create-team-refused"); !strings.Contains(got, "verified address at example.test") {
		t.Errorf("refusal says %q", got)
	}
	bob.shot("02-unverified-refused")
}
