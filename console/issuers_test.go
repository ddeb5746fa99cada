package console

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestIssuers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idp := oidctest.Start(t, oidctest.Options{})
	u := e.user("fia")
	team := e.team("violet", u)
	b := e.signedIn(u)

	wantContains(t, b.get(Base+"/t/violet/issuers"), "No issuers yet")
	wantStatus(t, b.get(Base+"/t/violet/issuers/new"), http.StatusOK)

	// Required fields, checked before any network call.
	p := b.post(Base+"/t/violet/issuers", url.Values{"issuer": {""}, "audience": {""}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="issuer-error"`, `data-testid="audience-error"`)

	// An issuer that cannot be reached is not saved, and the form says why.
	p = b.post(Base+"/t/violet/issuers", url.Values{"issuer": {"http://127.0.0.1:1"}, "audience": {"api://violet"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, "Not saved: no discovery document", `value="http://127.0.0.1:1"`, `value="api://violet"`)
	if list, _, _ := e.store.ListIssuers(testCtx(t), team.ID, tenants.Page{}); len(list) != 0 {
		t.Fatalf("an unreachable issuer was saved: %+v", list)
	}

	// The real provider publishes three signing keys.
	wantRedirect(t, b.post(Base+"/t/violet/issuers", url.Values{"issuer": {idp.Issuer()}, "audience": {"api://violet"}}),
		Base+"/t/violet/issuers?done=issuer-saved&keys=3")
	list := b.get(Base + "/t/violet/issuers?done=issuer-saved&keys=3")
	wantContains(t, list, "Issuer saved: found 3 signing keys.", idp.Issuer(), "api://violet", ">sub<")

	// The same issuer and audience again.
	p = b.post(Base+"/t/violet/issuers", url.Values{"issuer": {idp.Issuer()}, "audience": {"api://violet"}})
	wantStatus(t, p, http.StatusConflict)

	issuers, _, err := e.store.ListIssuers(testCtx(t), team.ID, tenants.Page{})
	if err != nil || len(issuers) != 1 {
		t.Fatalf("issuers %+v, %v", issuers, err)
	}
	is := issuers[0]
	edit := b.get(Base + "/t/violet/issuers/" + is.ID)
	wantContains(t, edit, `value="api://violet"`, `id="delete-issuer"`)
	wantRedirect(t, b.post(Base+"/t/violet/issuers/"+is.ID, url.Values{"issuer": {idp.Issuer()}, "audience": {"api://other"}, "user_claim": {"email"}}),
		Base+"/t/violet/issuers?done=issuer-saved&keys=3")
	got, err := e.store.GetIssuer(testCtx(t), team.ID, is.ID)
	if err != nil || got.Audience != "api://other" || got.UserClaim != "email" {
		t.Fatalf("after edit: %+v, %v", got, err)
	}
	// An edit to an unreachable URL keeps the old issuer.
	wantStatus(t, b.post(Base+"/t/violet/issuers/"+is.ID, url.Values{"issuer": {"http://127.0.0.1:1"}, "audience": {"api://x"}}), http.StatusUnprocessableEntity)
	if got, _ := e.store.GetIssuer(testCtx(t), team.ID, is.ID); got.URL != idp.Issuer() {
		t.Fatalf("a failed check changed the issuer to %s", got.URL)
	}

	wantRedirect(t, b.post(Base+"/t/violet/issuers/"+is.ID+"/delete", nil), Base+"/t/violet/issuers?done=issuer-deleted")
	wantContains(t, b.get(Base+"/t/violet/issuers"), "No issuers yet")
}
