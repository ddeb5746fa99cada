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
	wantContains(t, p, `id="limits-form"`, `id="team_rpm"`, `id="user_tpm"`, `id="key_monthly_tokens"`, `data-testid="named-limits"`)

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
