package console

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestRoleRefusals: for each role, every action it must not take answers
// 403 and changes nothing.
func TestRoleRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, target := e.user("owner"), e.user("target")
	f := e.teamWithOneOfEach("guarded", owner, target, "x@example.test")
	team, eng, is, key, inv := f.team, f.engine, f.issuer, f.key, f.invite
	ctx := testCtx(t)

	engineForm := url.Values{"name": {"new"}, "dialect": {"ollama"}, "base_url": {"http://127.0.0.1:2"}}
	issuerForm := url.Values{"issuer": {"https://other.test"}, "audience": {"api://x"}}
	actions := []struct {
		name   string
		method string
		path   string
		form   url.Values
		may    func(tenants.Role) bool
	}{
		{"register engine", "POST", "/engines", engineForm, needManage},
		{"edit engine", "POST", "/engines/" + eng.ID, engineForm, needManage},
		{"delete engine", "POST", "/engines/" + eng.ID + "/delete", nil, needManage},
		{"test engine", "POST", "/engines/" + eng.ID + "/test", nil, needManage},
		{"import engine models", "POST", "/engines/" + eng.ID + "/import", nil, needManage},
		{"new engine page", "GET", "/engines/new", nil, needManage},
		{"edit engine page", "GET", "/engines/" + eng.ID, nil, needManage},
		{"add issuer", "POST", "/issuers", issuerForm, needManage},
		{"edit issuer", "POST", "/issuers/" + is.ID, issuerForm, needManage},
		{"delete issuer", "POST", "/issuers/" + is.ID + "/delete", nil, needManage},
		{"new issuer page", "GET", "/issuers/new", nil, needManage},
		{"edit issuer page", "GET", "/issuers/" + is.ID, nil, needManage},
		{"set DID sign-in", "POST", "/issuers/did", url.Values{"methods": {"key"}}, needManage},
		{"create key", "POST", "/keys", url.Values{"name": {"n"}}, needManage},
		{"revoke key", "POST", "/keys/" + key.ID + "/revoke", nil, needManage},
		{"invite", "POST", "/members/invite", url.Values{"email": {"y@example.test"}, "role": {"viewer"}}, needManage},
		{"revoke invite", "POST", "/invites/" + inv.ID + "/revoke", nil, needManage},
		{"change role", "POST", "/members/" + target.ID + "/role", url.Values{"role": {"viewer"}}, needManage},
		{"remove member", "POST", "/members/" + target.ID + "/remove", nil, needManage},
		{"rename team", "POST", "/settings/rename", url.Values{"name": {"Renamed"}}, needEdit},
		{"allow engine cookies", "POST", "/settings/engine-cookies", url.Values{"engine_cookies": {"on"}}, needEdit},
		{"delete team", "POST", "/settings/delete", url.Values{"confirm": {team.Name}}, needDelete},
		{"read audit log", "GET", "/audit", nil, needAudit},
		{"download audit log", "GET", "/audit.csv", nil, needAudit},
		{"try it", "POST", "/try", url.Values{"model": {"m"}, "message": {"hi"}}, needUse},
		{"mint token", "POST", "/token", nil, needUse},
	}

	before := snapshot(t, e, team)
	for _, role := range []tenants.Role{tenants.RoleViewer, tenants.RoleMember, tenants.RoleAdmin} {
		u := e.user("as-" + string(role))
		e.member(team, u, role)
		b := e.signedIn(u)
		for _, a := range actions {
			if a.may(role) {
				continue
			}
			t.Run(string(role)+"/"+a.name, func(t *testing.T) {
				var p page
				if a.method == "GET" {
					p = b.get(Base + "/t/guarded" + a.path)
				} else {
					p = b.post(Base+"/t/guarded"+a.path, a.form)
				}
				wantStatus(t, p, http.StatusForbidden)
				wantContains(t, p, `data-testid="error-page"`)
			})
		}
		if err := e.store.RemoveMember(ctx, team.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if after := snapshot(t, e, team); after != before {
		t.Fatalf("refused actions changed the team:\nbefore %s\nafter  %s", before, after)
	}
	if len(e.minter.minted()) != 0 {
		t.Error("a refused mint made a token")
	}

	// Refused pages hide their links and buttons too.
	viewer := e.user("viewer-ui")
	e.member(team, viewer, tenants.RoleViewer)
	vb := e.signedIn(viewer)
	wantLacks(t, vb.get(Base+"/t/guarded/engines"), `id="new-engine"`, "/delete", `data-inline-test`)
	wantLacks(t, vb.get(Base+"/t/guarded/keys"), `id="key-form"`, "/revoke")
	wantLacks(t, vb.get(Base+"/t/guarded/members"), `id="invite-form"`, "/remove", "/role")
	wantLacks(t, vb.get(Base+"/t/guarded/settings"), `id="delete-team-form"`, `id="rename-form"`, `id="engine-cookies-form"`)
	wantLacks(t, vb.get(Base+"/t/guarded"), `id="try-form"`, `id="nav-audit"`)
}

// snapshot describes everything about a team an action could change.
func snapshot(t *testing.T, e *env, team attach.Team) string {
	t.Helper()
	ctx := testCtx(t)
	var parts []string
	tm, err := e.store.GetTeam(ctx, team.Slug)
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, fmt.Sprintf("team=%s,%v", tm.Name, tm.EngineCookies))
	engines, _, err := e.store.ListEngines(ctx, team.ID, tenants.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range engines {
		parts = append(parts, fmt.Sprintf("engine=%s,%s,%s,%v", x.Name, x.BaseURL, x.UpdatedAt, x.Models))
	}
	issuers, _, err := e.store.ListIssuers(ctx, team.ID, tenants.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range issuers {
		parts = append(parts, fmt.Sprintf("issuer=%s,%s,%s", x.URL, x.Audience, x.UpdatedAt))
	}
	did, err := e.store.GetDIDPolicy(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, fmt.Sprintf("did=%v", did))
	keys, _, err := e.store.ListAPIKeys(ctx, team.ID, tenants.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range keys {
		parts = append(parts, fmt.Sprintf("key=%s,%v", x.Name, x.RevokedAt != nil))
	}
	members, err := e.store.ListMembers(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if strings.HasPrefix(m.User.Name, "User as-") {
			continue // the roles under test come and go
		}
		parts = append(parts, "member="+m.User.Email+":"+string(m.Role))
	}
	invites, err := e.store.ListInvites(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range invites {
		parts = append(parts, "invite="+x.Email+":"+string(x.Role))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
