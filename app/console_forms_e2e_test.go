package app

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// internalCodeRE matches a reason code put before a message
// ("issuer_unavailable: ...") or a Go network error's wording.
var internalCodeRE = regexp.MustCompile(`\b[a-z]+_[a-z_]+: |dial tcp|GET http`)

// TestConsoleE2EIssuerForm registers issuers in Chromium against the real
// gateway and a real OIDC provider: a form with two faults shows both in
// plain words, and an issuer typed with a trailing slash the provider does
// not write is saved as the provider writes it, so its tokens are accepted.
func TestConsoleE2EIssuerForm(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	idp := oidctest.Start(t, oidctest.Options{})
	_, gw, _, ui := signedInLab(t, "issuer@example.test", "Isa Issuer", "", "tiny")
	team, err := gw.store.GetTeam(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}

	// Two faults: an issuer nothing answers for, and no audience.
	ui.open(gw.URL + "/console/t/lab/issuers/new")
	ui.fill("#issuer", "http://127.0.0.1:1")
	if resp := ui.clickToLoad("#save-issuer"); resp.Status != 422 {
		t.Fatalf("issuer form with two faults: status %d", resp.Status)
	}
	issuerErr, audienceErr := ui.text(`[data-testid="issuer-error"]`), ui.text(`[data-testid="audience-error"]`)
	for _, msg := range []string{issuerErr, audienceErr} {
		if internalCodeRE.MatchString(msg) {
			t.Errorf("form message shows internals: %q", msg)
		}
	}
	if !strings.Contains(issuerErr, "could not reach the issuer") {
		t.Errorf("issuer error %q", issuerErr)
	}
	ui.shot("01-two-faults")

	// The provider's issuer with a trailing slash it does not write.
	ui.fill("#issuer", idp.Issuer()+"/")
	ui.fill("#audience", "api://lab-slash")
	ui.clickToLoad("#save-issuer")
	if got := ui.location().Query().Get("done"); got != "issuer-saved" {
		t.Fatalf("the trailing-slash issuer was not saved: at %s", ui.location())
	}
	ui.shot("02-saved")
	list, _, err := gw.store.ListIssuers(context.Background(), team.ID, tenants.Page{})
	if err != nil || len(list) != 1 || list[0].URL != idp.Issuer() {
		t.Fatalf("issuers %+v (%v), want one saved as %q", list, err, idp.Issuer())
	}

	// The provider's tokens, whose iss has no slash, call the gateway.
	token := idp.Token(t, "api://lab-slash")
	waitFor(t, "a token of the new issuer accepted", func() bool {
		resp, _ := call(t, "POST", gw.URL+"/t/lab/api/chat", token, chatBody)
		return resp.StatusCode == 200
	})
}
