package console

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// Admins and owners set the team's, every user's and every key's limits on
// the Limits page: bad values come back next to their field with what was
// typed, nothing saved; good ones are stored (PRG), and limits of named
// users set through the API are kept. Viewers see the limits, and cannot
// change them.
func TestLimitsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, viewer := e.user("lia"), e.user("val")
	team := e.team("capped", owner)
	e.member(team, viewer, tenants.RoleViewer)
	ctx := testCtx(t)
	sixty := int64(60)
	if _, err := e.store.SetQuotas(ctx, team.ID, tenants.Quotas{Users: []tenants.UserLimits{{Subject: "user:ci", Limits: tenants.Limits{RPM: &sixty}}}}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(owner)

	p := b.get(Base + "/t/capped/limits")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="limits-form"`, `id="team_rpm"`, `id="user_tpm"`, `id="key_monthly_tokens"`, `data-testid="named-limit-row"`, "user:ci", "60 requests/min")

	bad := url.Values{"team_rpm": {"-5"}, "user_tpm": {"20000"}, "key_tokens_per_day": {"1e30"}}
	p = b.post(Base+"/t/capped/limits", bad)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="team_rpm-error"`, `data-testid="key_tokens_per_day-error"`, `value="-5"`, `value="20000"`, `aria-invalid="true"`)
	if q, err := e.store.Quotas(ctx, team.ID); err != nil || q.Team.Any() || len(q.Users) != 1 {
		t.Fatalf("a refused form saved: %+v %v", q, err)
	}

	good := url.Values{"team_rpm": {"600"}, "team_monthly_tokens": {"5000000"}, "user_tpm": {"20000"}, "key_rpm": {"0"}}
	wantRedirect(t, b.post(Base+"/t/capped/limits", good), Base+"/t/capped/limits?done=limits-saved")
	p = b.get(Base + "/t/capped/limits?done=limits-saved")
	wantContains(t, p, "Limits saved.", `id="team_rpm" name="team_rpm" value="600"`, `value="5000000"`, `value="20000"`, `id="key_rpm" name="key_rpm" value="0"`)
	q, err := e.store.Quotas(ctx, team.ID)
	if err != nil || *q.Team.RPM != 600 || *q.Team.MonthlyTokens != 5_000_000 || q.Team.TPM != nil {
		t.Fatalf("team limits %+v %v", q.Team, err)
	}
	if l, ok := q.User("someone"); !ok || *l.TPM != 20000 {
		t.Fatalf("every user's limits %+v", l)
	}
	if l, ok := q.User("user:ci"); !ok || *l.RPM != 60 || l.TPM != nil {
		t.Fatalf("a named user's limits were not kept: %+v", l)
	}
	if l, ok := q.Key("00000000-0000-4000-8000-000000000001"); !ok || *l.RPM != 0 {
		t.Fatalf("every key's limits %+v", l)
	}

	// Emptying the fields removes the limits.
	wantRedirect(t, b.post(Base+"/t/capped/limits", url.Values{}), Base+"/t/capped/limits?done=limits-saved")
	if q, _ := e.store.Quotas(ctx, team.ID); q.Team.Any() || len(q.Users) != 1 || len(q.Keys) != 0 {
		t.Fatalf("after emptying: %+v", q)
	}

	v := e.signedIn(viewer)
	p = v.get(Base + "/t/capped/limits")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="limits-facts"`, "Only admins and owners can change the limits.")
	wantLacks(t, p, `id="limits-form"`)
	wantStatus(t, v.post(Base+"/t/capped/limits", good), http.StatusForbidden)
	if q, _ := e.store.Quotas(ctx, team.ID); q.Team.Any() {
		t.Fatal("a viewer changed the limits")
	}
}

// One member's or key's own limits: set from the page's second form (a
// bad value or someone not of the team comes back with its error, nothing
// saved), listed by name, and removed; the team's and the "every" rows
// stay as they were. Viewers cannot set them.
func TestNamedLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, member, viewer := e.user("nia"), e.user("max"), e.user("vic")
	team := e.team("named", owner)
	e.member(team, member, tenants.RoleMember)
	e.member(team, viewer, tenants.RoleViewer)
	ctx := testCtx(t)
	key, _, err := e.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "ci-agent"})
	if err != nil {
		t.Fatal(err)
	}
	hundred := int64(100)
	if _, err := e.store.SetQuotas(ctx, team.ID, tenants.Quotas{Team: tenants.Limits{RPM: &hundred}}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(owner)
	p := b.get(Base + "/t/named/limits")
	wantContains(t, p, `data-testid="no-named-limits"`, `value="u:user:`+member.ID+`"`, `value="k:`+key.ID+`"`, "API key ci-agent")

	// Bad input: nothing saved, errors beside their fields.
	p = b.post(Base+"/t/named/limits/named", url.Values{"target": {"u:user:someone-else"}, "named_tpm": {"-1"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="target-error"`, `data-testid="named_tpm-error"`, `value="-1"`)
	if q, _ := e.store.Quotas(ctx, team.ID); len(q.Users) != 0 || len(q.Keys) != 0 {
		t.Fatalf("a refused form saved: %+v", q)
	}

	// The member and the key get limits of their own.
	wantRedirect(t, b.post(Base+"/t/named/limits/named", url.Values{"target": {"u:user:" + member.ID}, "named_tokens_per_day": {"5000"}}),
		Base+"/t/named/limits?done=limits-saved")
	wantRedirect(t, b.post(Base+"/t/named/limits/named", url.Values{"target": {"k:" + key.ID}, "named_rpm": {"30"}}),
		Base+"/t/named/limits?done=limits-saved")
	q, err := e.store.Quotas(ctx, team.ID)
	if err != nil || q.Team.RPM == nil || *q.Team.RPM != 100 {
		t.Fatalf("the team's limits changed: %+v %v", q.Team, err)
	}
	if l, ok := q.User("user:" + member.ID); !ok || l.TokensPerDay == nil || *l.TokensPerDay != 5000 || l.RPM != nil {
		t.Fatalf("the member's limits: %+v", l)
	}
	if l, ok := q.Key(key.ID); !ok || l.RPM == nil || *l.RPM != 30 {
		t.Fatalf("the key's limits: %+v", l)
	}
	p = b.get(Base + "/t/named/limits")
	wantContains(t, p, "User <strong>User max</strong>", "5,000 tokens/day", "API key <strong>ci-agent</strong>", "30 requests/min")

	// Setting again replaces; removing leaves the other row.
	wantRedirect(t, b.post(Base+"/t/named/limits/named", url.Values{"target": {"k:" + key.ID}, "named_rpm": {"45"}}),
		Base+"/t/named/limits?done=limits-saved")
	wantRedirect(t, b.post(Base+"/t/named/limits/named/remove", url.Values{"target": {"u:user:" + member.ID}}),
		Base+"/t/named/limits?done=limits-saved")
	q, _ = e.store.Quotas(ctx, team.ID)
	if len(q.Users) != 0 || len(q.Keys) != 1 || *q.Keys[0].RPM != 45 {
		t.Fatalf("after replace and remove: %+v", q)
	}

	v := e.signedIn(viewer)
	wantLacks(t, v.get(Base+"/t/named/limits"), `id="named-limits-form"`)
	wantStatus(t, v.post(Base+"/t/named/limits/named", url.Values{"target": {"k:" + key.ID}}), http.StatusForbidden)
	wantStatus(t, v.post(Base+"/t/named/limits/named/remove", url.Values{"target": {"k:" + key.ID}}), http.StatusForbidden)
	if q, _ := e.store.Quotas(ctx, team.ID); len(q.Keys) != 1 {
		t.Fatal("a viewer changed the limits")
	}
}
