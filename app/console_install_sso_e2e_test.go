package app

import (
	"context"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/console"
)

// On a hosted install that lets only the provider's group gateway-ops
// create teams (ATTACH_TEAM_CREATORS=group:gateway-ops), a member of the
// group creates one after single sign-on and someone outside it is told
// who may; an address named by ATTACH_INSTALL_ADMINS, verified by the
// provider, makes an install administrator, who may create teams whatever
// the rule; a locked account's single sign-on is refused in plain words.
func TestConsoleE2ETeamCreatorsByGroup(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	ln := listenLoopback(t)
	public := "http://" + ln.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{public + "/console/sso/callback"}})
	cfg := hostedConfig(t)
	var err error
	if cfg.TeamCreators, err = console.ParseTeamCreators("group:gateway-ops"); err != nil {
		t.Fatal(err)
	}
	if cfg.InstallAdmins, err = console.ParseInstallAdmins([]string{"root@example.test", "unverified-root@example.test"}); err != nil {
		t.Fatal(err)
	}
	cfg.ConsoleOIDCIssuer = idp.Issuer()
	cfg.ConsoleOIDCClientID, cfg.ConsoleOIDCClientSecret = idp.LoginClient()
	gw := startGatewayOn(t, cfg, ln)

	// Every browser first: each start clears the test's screenshot folder.
	ada, bob, bobAgain, root, fake := newConsoleUI(t), newConsoleUI(t), newConsoleUI(t), newConsoleUI(t), newConsoleUI(t)

	if p := ssoSignIn(t, ada, gw, "ops-ada"); p != "/console/teams" {
		t.Fatalf("after sign-in ada is at %s", p)
	}
	ada.waitVisible("#team-form")
	ada.fill("#name", "Ops")
	ada.fill("#slug", "ops")
	ada.clickToLoad("#create-team")
	if p := strings.TrimSuffix(ada.location().Path, "/"); p != "/console/t/ops" {
		t.Fatalf("after creating the team ada is at %s", p)
	}
	ada.shot("01-group-member-created-team")

	if p := ssoSignIn(t, bob, gw, "bob"); p != "/console/teams" {
		t.Fatalf("after sign-in bob is at %s", p)
	}
	bob.waitVisible("#create-team-refused")
	if n := uiEval[int](bob, `document.querySelectorAll("#team-form, #install-link").length`); n != 0 {
		t.Error("a user outside the group is shown the create-team form or the Install link")
	}
	if got := bob.text("#create-team-refused"); !strings.Contains(got, "gateway-ops") {
		t.Errorf("refusal says %q", got)
	}
	bob.shot("02-outside-the-group-refused")

	// The listed, verified address: an install administrator, who creates
	// teams though not in the group.
	if p := ssoSignIn(t, root, gw, "root"); p != "/console/teams" {
		t.Fatalf("after sign-in root is at %s", p)
	}
	root.waitVisible("#team-form")
	if n := uiEval[int](root, `document.querySelectorAll("#install-link").length`); n != 1 {
		t.Error("a listed install administrator has no Install link")
	}
	if resp := root.open(gw.URL + "/console/install/users"); resp.Status != 200 {
		t.Fatalf("install users page for a listed administrator: %d", resp.Status)
	}
	root.shot("03-listed-admin")
	// The same address, not verified by the provider: nobody special.
	ssoSignIn(t, fake, gw, "unverified-root")
	if resp := fake.open(gw.URL + "/console/install"); resp.Status != 404 {
		t.Errorf("an unverified listed address opens the install pages: %d", resp.Status)
	}

	// Bob locked: his next single sign-on is refused.
	u, err := gw.store.GetUserByEmail(context.Background(), "bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.store.LockUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	ssoSignIn(t, bobAgain, gw, "bob")
	if got := bobAgain.text("#signin-error"); !strings.Contains(got, "locked") {
		t.Errorf("a locked user's single sign-on says %q", got)
	}
	bobAgain.shot("04-locked-sso")
}
