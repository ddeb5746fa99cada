package console

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

const (
	testDIDKey = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	testDIDWeb = "did:web:agents.example.com"
	testDIDPKH = "did:pkh:eip155:1:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb"
)

// TestDIDPolicyCard: an admin sets the team's DID sign-in on the Issuers
// page and the store holds exactly that, audited as the admin; the card
// shows it back; clearing it stops DID sign-in.
func TestDIDPolicyCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	owner, admin := e.user("dora"), e.user("dan")
	team := e.team("dids", owner)
	e.member(team, admin, tenants.RoleAdmin)
	b := e.signedIn(admin)

	p := b.get(Base + "/t/dids/issuers")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="did-form"`, `data-testid="did-methods">none: DID-JWTs are refused<`,
		`value="key" id="did-method-key"`, `value="pkh" id="did-method-pkh"`, `value="web" id="did-method-web"`,
		e.URL+"/t/dids")
	wantLacks(t, p, "checked")

	form := url.Values{
		"methods":   {"web", "key"},
		"allow":     {testDIDWeb + "\r\n\r\n  " + testDIDKey + "  \r\n"},
		"audiences": {"https://agents.example.com/gw\r\n"},
	}
	wantRedirect(t, b.post(Base+"/t/dids/issuers/did", form), Base+"/t/dids/issuers?done=did-saved")

	got, err := e.store.GetDIDPolicy(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := attach.DIDPolicy{Methods: []string{"key", "web"}, Allow: []string{testDIDKey, testDIDWeb}, Audiences: []string{"https://agents.example.com/gw"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored policy %+v, want %+v", got, want)
	}
	entries, _, err := e.store.ListAudit(ctx, team.ID, tenants.Page{})
	if err != nil || len(entries) == 0 || entries[0].Action != tenants.AuditDIDPolicy || entries[0].ActorID != admin.ID {
		t.Fatalf("audit log %+v, %v; want did.policy by the admin first", entries, err)
	}

	p = b.get(Base + "/t/dids/issuers?done=did-saved")
	wantContains(t, p, "DID sign-in saved.", `data-testid="did-methods">did:key, did:web<`, "only 2 listed DIDs",
		`value="key" id="did-method-key" checked`, `value="web" id="did-method-web" checked`,
		">"+testDIDKey+"\n"+testDIDWeb+"</textarea>", ">https://agents.example.com/gw</textarea>")
	wantLacks(t, p, `value="pkh" id="did-method-pkh" checked`)

	// Members and viewers read the policy, without the form.
	member := e.user("mo")
	e.member(team, member, tenants.RoleMember)
	p = e.signedIn(member).get(Base + "/t/dids/issuers")
	wantContains(t, p, `data-testid="did-methods">did:key, did:web<`, "https://agents.example.com/gw", "An admin of the team changes DID sign-in.")
	wantLacks(t, p, `id="did-form"`)

	// Nothing ticked and nothing listed: DID-JWTs are refused again.
	wantRedirect(t, b.post(Base+"/t/dids/issuers/did", url.Values{"allow": {""}, "audiences": {""}}), Base+"/t/dids/issuers?done=did-saved")
	if got, err := e.store.GetDIDPolicy(ctx, team.ID); err != nil || len(got.Methods)+len(got.Allow)+len(got.Audiences) != 0 {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}

// TestDIDPolicyCardRefusals: what the store refuses comes back on the page
// with the field at fault and what was typed, and stores nothing; a member
// and a POST without the session's CSRF token are refused.
func TestDIDPolicyCardRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	owner := e.user("rita")
	team := e.team("refuse", owner)
	b := e.signedIn(owner)
	stored := attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{testDIDKey}, Audiences: []string{}}
	if _, err := e.store.PutDIDPolicy(ctx, team.ID, stored); err != nil {
		t.Fatal(err)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		got, err := e.store.GetDIDPolicy(ctx, team.ID)
		if err != nil || !reflect.DeepEqual(got, stored) {
			t.Fatalf("stored policy %+v, %v; want it unchanged: %+v", got, err, stored)
		}
	}

	cases := []struct {
		name, field, message string
		form                 url.Values
	}{
		{"not a DID", "allow", "is not a DID", url.Values{"methods": {"key"}, "allow": {testDIDKey + "\nnot-a-did"}}},
		{"DID of an untrusted method", "allow", "a method the team does not trust", url.Values{"methods": {"key"}, "allow": {testDIDPKH}}},
		{"unknown method", "methods", "Unsupported DID method", url.Values{"methods": {"key", "ion"}}},
		{"plain http audience", "audiences", "must use https", url.Values{"methods": {"web"}, "audiences": {"http://agents.example.com"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.post(Base+"/t/refuse/issuers/did", c.form)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `data-testid="`+c.field+`-error"`, c.message, `aria-describedby="`+c.field)
			if c.form.Get("allow") != "" {
				wantContains(t, p, ">"+c.form.Get("allow")+"</textarea>") // as typed
			}
			unchanged(t)
		})
	}
	// The typed methods stay ticked on the refused form.
	p := b.post(Base+"/t/refuse/issuers/did", url.Values{"methods": {"web"}, "allow": {"nope"}})
	wantContains(t, p, `value="web" id="did-method-web" checked`)
	wantLacks(t, p, `value="key" id="did-method-key" checked`)

	// A member may not change it.
	member := e.user("max")
	e.member(team, member, tenants.RoleMember)
	p = e.signedIn(member).post(Base+"/t/refuse/issuers/did", url.Values{"methods": {"web"}})
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, `data-testid="error-page"`)
	unchanged(t)

	// Without the session's CSRF token, or with another, nothing changes.
	for _, tok := range []string{"", "not-the-token"} {
		wantStatus(t, b.post(Base+"/t/refuse/issuers/did", url.Values{"csrf": {tok}, "methods": {"web"}}), http.StatusForbidden)
	}
	unchanged(t)
}
