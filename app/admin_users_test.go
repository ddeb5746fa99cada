package app

import (
	"context"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestManagementAPIUsers lists every user with their teams and every team
// with its counts, locks a user whose console session and console token
// then stop on the very next request (on another replica too), refuses
// their sign-in in plain words, unlocks, marks an install administrator,
// refuses to remove a team's only owner (naming the team) and removes a
// user whose teams keep an owner.
func TestManagementAPIUsers(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	cfg := testConfig(t)
	cfg.PublicURL = "https://gateway.example" // one install, two replicas behind it
	var err error
	if cfg.InstallAdmins, err = console.ParseInstallAdmins([]string{"Root@Example.test"}); err != nil {
		t.Fatal(err)
	}
	one, two := startGateway(t, cfg), startGateway(t, cfg)
	admin := adminClient(t, one)
	ctx := context.Background()

	owner := consoleAccount(t, one, "owner@example.test", "Owner")
	bob := consoleAccount(t, one, "bob@example.test", "Bob")
	_, err = one.store.CreateLocalUser(ctx, tenants.UserInput{Email: "root@example.test", Name: "Root", Password: e2ePassword, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	team := teamWithEngine(t, one, owner, "lab", eng.URL())
	waitFor(t, "team lab on the second replica", func() bool {
		s, ok := two.dir.Team("lab")
		return ok && len(s.Engines) == 1
	})
	if err := one.store.AddMember(ctx, team.ID, bob.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}

	// Every user, with their teams; ATTACH_INSTALL_ADMINS shows.
	list := admin.do("GET", "/users?limit=2", "", 200)
	items := list["items"].([]any)
	if len(items) != 2 || list["next"] == "" {
		t.Fatalf("first page of users: %v", list)
	}
	rest := admin.do("GET", "/users?limit=2&after="+list["next"].(string), "", 200)["items"].([]any)
	if len(rest) != 1 || rest[0].(map[string]any)["email"] != "root@example.test" || rest[0].(map[string]any)["install_admin_listed"] != true {
		t.Fatalf("second page of users: %v", rest)
	}
	b := admin.do("GET", "/users/"+bob.ID, "", 200)
	if teams := b["teams"].([]any); len(teams) != 1 || teams[0].(map[string]any)["slug"] != "lab" || teams[0].(map[string]any)["role"] != "member" {
		t.Fatalf("bob's teams: %v", b)
	}
	for _, tm := range admin.do("GET", "/teams", "", 200)["items"].([]any) {
		tm := tm.(map[string]any)
		switch tm["slug"] {
		case "lab":
			if tm["members"] != float64(2) || tm["owners"] != float64(1) {
				t.Errorf("lab's counts: %v", tm)
			}
		case "default":
			if tm["members"] != float64(0) {
				t.Errorf("default team's counts: %v", tm)
			}
		}
	}

	// Bob signed in, with a console token for a page of team lab.
	session, _, err := one.store.CreateSession(ctx, bob.ID, tenants.SessionInput{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := identity.NewLocalIssuer(cfg.PublicURL+"/console", deriveKey(one.cfg.SecretKey, "attach console tokens v1"))
	if err != nil {
		t.Fatal(err)
	}
	minted, err := (&minter{local: local, store: one.store}).MintToken(ctx, team, bob, session)
	if err != nil {
		t.Fatal(err)
	}
	signedIn := func(gw *gateway) bool {
		resp, _ := call(t, "GET", gw.URL+"/console/teams", "", "", "Cookie", "__Host-attach_session="+session, "Accept", "application/json")
		return resp.StatusCode == 200
	}
	chat := func() (int, string) {
		resp, body := call(t, "POST", two.URL+"/t/lab/api/chat", minted.Token, chatBody)
		return resp.StatusCode, body
	}
	if !signedIn(two) {
		t.Fatal("bob's session does not work before the lock")
	}
	if status, body := chat(); status != 200 {
		t.Fatalf("bob's console token before the lock: %d %s", status, body)
	}

	locked := admin.post("/users/"+bob.ID+"/lock", "", 200)
	if locked["locked_at"] == nil {
		t.Fatalf("lock answer: %v", locked)
	}
	if signedIn(two) {
		t.Fatal("a locked user's session still opens the console")
	}
	before := eng.hits.Load()
	if status, body := chat(); status != 401 || errorCode(t, body) != identity.ReasonConsoleSessionEnded {
		t.Fatalf("a locked user's console token: %d %s", status, body)
	}
	if eng.hits.Load() != before {
		t.Fatal("a locked user's token reached the engine")
	}
	if status := formClientFrom(t, "127.0.0.1").signIn(two.URL, bob.Email, e2ePassword); status != 403 {
		t.Fatalf("a locked user's sign-in: %d, want 403", status)
	}
	admin.post("/users/"+bob.ID+"/lock", "", 200) // locking twice is fine
	if unlocked := admin.post("/users/"+bob.ID+"/unlock", "", 200); unlocked["locked_at"] != nil {
		t.Fatalf("unlock answer: %v", unlocked)
	}
	if _, err := one.store.AuthenticatePassword(ctx, bob.Email, e2ePassword); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}

	// The stored flag.
	if u := admin.do("PATCH", "/users/"+bob.ID, `{"install_admin":true}`, 200); u["install_admin"] != true {
		t.Fatalf("install admin flag: %v", u)
	}
	if u := admin.do("PATCH", "/users/"+bob.ID, `{"install_admin":false}`, 200); u["install_admin"] != false {
		t.Fatalf("install admin flag cleared: %v", u)
	}

	// Bad input, each with its JSON error.
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/users/0190a3c5-0000-7000-8000-00000000dead", "", 404, "not_found"},
		{"POST", "/users/not-an-id/lock", "", 404, "not_found"},
		{"DELETE", "/users/0190a3c5-0000-7000-8000-00000000dead", "", 404, "not_found"},
		{"PATCH", "/users/" + bob.ID, `{}`, 422, "invalid_field"},
		{"PATCH", "/users/" + bob.ID, `{"install_admin":"yes"}`, 400, "invalid_json"},
		{"PATCH", "/users/" + bob.ID, `{"locked":true}`, 400, "invalid_json"},
		{"GET", "/users?limit=0", "", 400, "invalid_query"},
		{"GET", "/users?after=nope", "", 422, "invalid_field"},
	} {
		resp, body := call(t, tc.method, one.URL+"/admin/v1"+tc.path, cfg.AdminToken, tc.body)
		if resp.StatusCode != tc.status || errorCode(t, body) != tc.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	if resp, body := call(t, "GET", one.URL+"/admin/v1/users", "", ""); resp.StatusCode != 401 {
		t.Errorf("users without the token: %d %s", resp.StatusCode, body)
	}

	// The only owner of lab stays; bob goes.
	resp, body := call(t, "DELETE", one.URL+"/admin/v1/users/"+owner.ID, cfg.AdminToken, "")
	if resp.StatusCode != 409 || errorCode(t, body) != "last_owner" || !strings.Contains(body, "team lab") {
		t.Fatalf("removing lab's only owner: %d %s", resp.StatusCode, body)
	}
	admin.do("DELETE", "/users/"+bob.ID, "", 204)
	admin.do("GET", "/users/"+bob.ID, "", 404)
	members, err := one.store.ListMembers(ctx, team.ID)
	if err != nil || len(members) != 1 {
		t.Fatalf("lab's members after bob's removal: %v %v", members, err)
	}
	log, _, err := one.store.ListAudit(ctx, team.ID, tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var removal bool
	for _, e := range log {
		removal = removal || (e.Action == tenants.AuditMemberRemove && e.TargetID == bob.ID && e.ActorName == "admin token")
	}
	if !removal {
		t.Error("lab's audit log does not say bob was removed")
	}
}
