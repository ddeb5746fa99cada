package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// An engine's cookies never reach the gateway's clients, who share the
// console's origin, until the team opts in through the management API; the
// change reaches the request path without a restart, and is audited.
func TestEngineCookiesNeedTheTeamsOptIn(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	eng.mu.Lock()
	eng.answerHeaders = http.Header{
		"Set-Cookie":  {"engine=1; Path=/"},
		"set-cookie":  {"console_session=forged; Path=/console; HttpOnly"},
		"Set-Cookie2": {`old=2; Version="1"`},
		"X-Engine":    {"kept"},
	}
	eng.mu.Unlock()
	token := idp.Token(t, "api://default")
	streamed := strings.Replace(chatBody, `,"stream":false`, "", 1)

	// cookies returns what the client was told to store, for a whole and
	// for a streamed answer.
	cookies := func(stage string) []string {
		t.Helper()
		var got []string
		for _, body := range []string{chatBody, streamed} {
			resp, b := call(t, "POST", gw.URL+"/api/chat", token, body)
			if resp.StatusCode != 200 || resp.Header.Get("X-Engine") != "kept" {
				t.Fatalf("%s: %d %v %s", stage, resp.StatusCode, resp.Header, b)
			}
			for k, v := range resp.Header {
				if strings.EqualFold(k, "Set-Cookie") || strings.EqualFold(k, "Set-Cookie2") {
					got = append(got, v...)
				}
			}
		}
		return got
	}
	if got := cookies("by default"); len(got) != 0 {
		t.Fatalf("by default the client got the engine's cookies %q", got)
	}

	admin := adminClient(t, gw)
	if team := admin.do("GET", "/teams/default", "", 200); team["engine_cookies"] != false {
		t.Fatalf("new team: %v, want engine_cookies false", team)
	}
	team := admin.do("PATCH", "/teams/default", `{"engine_cookies":true}`, 200)
	if team["engine_cookies"] != true || team["name"] != "default" {
		t.Fatalf("after opting in: %v, want engine_cookies and the name kept", team)
	}
	waitFor(t, "the setting on the request path", func() bool {
		s, ok := gw.dir.Team("default")
		return ok && s.Team.EngineCookies
	})
	got := strings.Join(cookies("opted in"), " | ")
	for _, want := range []string{"engine=1", "console_session=forged", "old=2"} {
		if strings.Count(got, want) != 2 {
			t.Errorf("opted in: the client got cookies %q, want %s on both answers", got, want)
		}
	}

	// A change that leaves the setting out keeps it; an empty name is refused.
	if team := admin.do("PATCH", "/teams/default", `{"name":"Default team"}`, 200); team["engine_cookies"] != true {
		t.Fatalf("rename: %v, want engine_cookies kept", team)
	}
	if e := admin.do("PATCH", "/teams/default", `{"name":""}`, 422)["error"].(map[string]any); e["code"] != "invalid_field" {
		t.Fatalf("empty name: %v", e)
	}
	admin.do("PATCH", "/teams/default", `{"engine_cookies":"yes"}`, 400)

	// Off again: the cookies are dropped again.
	admin.do("PATCH", "/teams/default", `{"engine_cookies":false}`, 200)
	waitFor(t, "the setting off on the request path", func() bool {
		s, ok := gw.dir.Team("default")
		return ok && !s.Team.EngineCookies
	})
	if got := cookies("opted out"); len(got) != 0 {
		t.Fatalf("after opting out the client got the engine's cookies %q", got)
	}

	entries, _, err := gw.store.ListAudit(t.Context(), team["id"].(string), tenants.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var changes []any
	for _, e := range entries {
		if e.Action == tenants.AuditTeamUpdate && e.ActorName == "admin token" {
			changes = append(changes, e.Detail["engine_cookies"])
		}
	}
	if want := []any{false, true, true}; mustJSON(changes) != mustJSON(want) {
		t.Errorf("audited engine_cookies, newest first: %v, want %v", changes, want)
	}
}
