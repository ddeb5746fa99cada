package app

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// usageKey mints a key of team slug with scopes and returns it and its id.
func usageKey(t *testing.T, gw *gateway, slug string, scopes string) (key, id string) {
	t.Helper()
	k := adminClient(t, gw).post("/teams/"+slug+"/keys", `{"name":"usage key","scopes":`+scopes+`}`, 201)
	key, _ = k["key"].(string)
	id, _ = k["id"].(string)
	waitFor(t, "key of "+slug+" on the request path", func() bool {
		resp, _ := call(t, "GET", gw.URL+"/t/"+slug+"/usage", key, "")
		return resp.StatusCode == 200
	})
	return key, id
}

func getUsage(t *testing.T, gw *gateway, path, token string, want int) (usageAnswer, string) {
	t.Helper()
	resp, body := call(t, "GET", gw.URL+path, token, "")
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, body)
	}
	var out usageAnswer
	if want == 200 {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return out, body
}

// A member's key reads its own usage only; a key with usage:read reads
// the team's; the management API reads any team's or all of them; bad
// parameters are refused naming the parameter.
func TestUsageAPIPermissionsAndParameters(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	admin.post("/teams", `{"slug":"other","name":"Other"}`, 201)
	waitForTeam(t, gw, "acme", 0, 0)
	waitForTeam(t, gw, "other", 0, 0)
	member, memberID := usageKey(t, gw, "acme", `[]`)
	reader, readerID := usageKey(t, gw, "acme", `["usage:read"]`)
	acme, _ := gw.dir.Team("acme")
	other, _ := gw.dir.Team("other")

	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	rec := func(team, subject, key, model string, at time.Time, in, out int) attach.Usage {
		return attach.Usage{TeamID: team, User: subject, KeyID: key, Engine: "gpu", Model: model, Path: "/api/chat",
			PromptTokens: in, CompletionTokens: out, Status: 200, Time: at}
	}
	err := gw.ledger.Store().Write(context.Background(), []attach.Usage{
		rec(acme.Team.ID, "apikey:"+memberID, memberID, "tiny", hour.Add(time.Minute), 10, 1),
		rec(acme.Team.ID, "apikey:"+memberID, memberID, "big", hour.Add(61*time.Minute), 20, 2),
		rec(acme.Team.ID, "apikey:"+readerID, readerID, "tiny", hour.Add(5*time.Minute), 100, 10),
		rec(acme.Team.ID, "alice", "", "tiny", hour.Add(5*time.Minute), 1000, 100),
		rec(other.Team.ID, "bob", "", "tiny", hour.Add(5*time.Minute), 5000, 500),
	})
	if err != nil {
		t.Fatal(err)
	}
	total := func(a usageAnswer) (reqs, prompt int64) {
		for _, b := range a.Buckets {
			reqs, prompt = reqs+b.Requests, prompt+b.PromptTokens
		}
		return
	}

	own, _ := getUsage(t, gw, "/t/acme/usage?group_by=user", member, 200)
	if r, p := total(own); own.Scope != "own" || r != 2 || p != 30 || own.Buckets[0].Group != "apikey:"+memberID {
		t.Errorf("a member's key: scope %s, %d requests, %d prompt tokens: %+v", own.Scope, r, p, own.Buckets)
	}
	team, _ := getUsage(t, gw, "/t/acme/usage?interval=day", reader, 200)
	if r, p := total(team); team.Scope != "team" || r != 4 || p != 1130 || len(team.Buckets) != 1 {
		t.Errorf("a usage:read key: scope %s, %d requests, %d prompt tokens: %+v", team.Scope, r, p, team.Buckets)
	}
	byHour, _ := getUsage(t, gw, "/t/acme/usage?interval=hour&group_by=model&from="+url.QueryEscape(hour.Format(time.RFC3339)), reader, 200)
	if len(byHour.Buckets) != 2 || !byHour.Buckets[0].Start.Equal(hour) || byHour.Buckets[0].Group != "tiny" ||
		byHour.Buckets[0].PromptTokens != 1110 || byHour.Buckets[1].Group != "big" {
		t.Errorf("by hour and model: %+v", byHour.Buckets)
	}
	byMinute, _ := getUsage(t, gw, "/t/acme/usage?interval=minute&group_by=key", reader, 200)
	if len(byMinute.Buckets) != 4 {
		t.Errorf("by minute and key: %+v", byMinute.Buckets)
	}

	all, _ := getUsage(t, gw, "/admin/v1/usage?interval=day&group_by=team", gw.cfg.AdminToken, 200)
	if r, p := total(all); r != 5 || p != 6130 || len(all.Buckets) != 2 {
		t.Errorf("every team: %d requests, %d tokens: %+v", r, p, all.Buckets)
	}
	one, _ := getUsage(t, gw, "/admin/v1/usage?team=other&interval=day", gw.cfg.AdminToken, 200)
	if r, p := total(one); r != 1 || p != 5000 {
		t.Errorf("team other: %d requests, %d tokens", r, p)
	}
	getUsage(t, gw, "/admin/v1/usage?team=nope", gw.cfg.AdminToken, 404)
	getUsage(t, gw, "/admin/v1/usage", member, 401)
	getUsage(t, gw, "/t/other/usage", member, 401)

	for _, bad := range []struct{ query, field string }{
		{"group_by=team", "group_by"},
		{"group_by=nonsense", "group_by"},
		{"interval=week", "interval"},
		{"from=yesterday", "from"},
		{"interval=minute&from=2020-01-01", "from"},
		{"interval=day&from=2000-01-01", "from"},
	} {
		_, body := getUsage(t, gw, "/t/acme/usage?"+bad.query, reader, 422)
		var e struct{ Error struct{ Code, Field string } }
		if json.Unmarshal([]byte(body), &e); e.Error.Field != bad.field {
			t.Errorf("%s: %s, want an error on field %s", bad.query, body, bad.field)
		}
	}
}

// A console user reads the team's usage when owner or admin, and only
// their own as a member.
func TestUsageConsoleRoles(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	ctx := context.Background()
	owner := consoleAccount(t, gw, "owner@example.com", "Owner")
	member := consoleAccount(t, gw, "member@example.com", "Member")
	team, err := gw.store.CreateTeamWithOwner(ctx, teamInput("acme"), owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.store.AddMember(ctx, team.ID, member.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	waitForTeam(t, gw, "acme", 0, 0)
	snap, _ := gw.dir.Team("acme")
	for _, c := range []struct {
		user tenants.User
		want bool
	}{{owner, true}, {member, false}} {
		p := attach.Principal{Method: identity.MethodConsole, Subject: attach.UserSubject(c.user.ID)}
		if got, err := gw.readsTeamUsage(ctx, snap, p); err != nil || got != c.want {
			t.Errorf("%s reads the team's usage: %v (%v), want %v", c.user.Email, got, err, c.want)
		}
	}
	// A token of an IdP naming the same subject is not a console user.
	p := attach.Principal{Method: attach.MethodOIDC, Subject: attach.UserSubject(owner.ID)}
	if got, _ := gw.readsTeamUsage(ctx, snap, p); got {
		t.Error("an OIDC token reads the team's usage without the usage:read scope")
	}
}

// Through the side-car with a real OIDC provider's tokens: each user's
// chats are counted for that user (estimated: the engine here counts
// nothing); a user reads their own usage at /usage, and a token with the
// usage:read scope the whole team's.
func TestUsageOfOIDCUsers(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	alice := memberToken(t, idp, "api://default", "alice")
	carol := memberToken(t, idp, "api://default", "carol")
	auditor := memberToken(t, idp, "api://default", "auditor", "usage:read")
	chat := `{"model":"tiny","stream":false,"messages":[{"role":"user","content":"count me"}]}`
	for _, tok := range []string{alice, alice, carol} {
		if resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chat); resp.StatusCode != 200 {
			t.Fatalf("chat: %d %s", resp.StatusCode, body)
		}
	}
	pollUntil(t, 30*time.Second, "three chats in the ledger", func() bool { return gw.ledger.Stats().Written >= 3 })

	own, _ := getUsage(t, gw, "/usage?group_by=user", alice, 200)
	if own.Scope != "own" || len(own.Buckets) != 1 || own.Buckets[0].Group != "alice" || own.Buckets[0].Requests != 2 ||
		own.Buckets[0].EstimatedRequests != 2 || own.Buckets[0].PromptTokens != 4 || own.Buckets[0].CompletionTokens != 4 {
		t.Errorf("alice's usage: %+v", own)
	}
	team, _ := getUsage(t, gw, "/usage?group_by=user", auditor, 200)
	if team.Scope != "team" || len(team.Buckets) != 2 || team.Buckets[0].Group != "alice" || team.Buckets[1].Group != "carol" {
		t.Errorf("the team's usage: %+v", team)
	}
	getUsage(t, gw, "/usage", "", 401)
}
