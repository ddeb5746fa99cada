package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// A team's DID sign-in policy through the management API: it starts empty,
// is replaced whole by PUT in its cleaned form, reaches the directory, is
// audited as the admin token's change, and bad input is refused naming the
// field, changing nothing.
func TestManagementAPIDIDPolicy(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	api := adminClient(t, gw)
	team := api.post("/teams", `{"slug":"agents","name":"Agents"}`, 201)

	const didKey = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	const didWeb = "did:web:bots.example.com"
	if got := api.do("GET", "/teams/agents/did-policy", "", 200); fmt.Sprint(got) != "map[allow:[] audiences:[] methods:[]]" {
		t.Fatalf("fresh policy = %v", got)
	}
	body := `{"methods":["web","key","key"],"allow":["` + didWeb + `","` + didKey + `"],"audiences":["https://agents.example/acme"]}`
	want := fmt.Sprint(map[string]any{"methods": []any{"key", "web"}, "allow": []any{didKey, didWeb}, "audiences": []any{"https://agents.example/acme"}})
	if got := api.do("PUT", "/teams/agents/did-policy", body, 200); fmt.Sprint(got) != want {
		t.Fatalf("PUT answered %v\nwant %v", got, want)
	}
	if got := api.do("GET", "/teams/agents/did-policy", "", 200); fmt.Sprint(got) != want {
		t.Fatalf("GET after PUT = %v", got)
	}
	waitFor(t, "the DID policy in the directory", func() bool {
		s, ok := gw.dir.Team("agents")
		return ok && slices.Equal(s.DID.Methods, []string{"key", "web"}) && slices.Equal(s.DID.Allow, []string{didKey, didWeb})
	})

	entries, _, err := gw.store.ListAudit(t.Context(), team["id"].(string), tenants.Page{Limit: 1})
	if err != nil || len(entries) != 1 || entries[0].Action != tenants.AuditDIDPolicy || entries[0].ActorName != "admin token" {
		t.Fatalf("audit after PUT: %+v, %v", entries, err)
	}

	for _, c := range []struct{ body, field string }{
		{`{"methods":["ethr"]}`, "methods"},
		{`{"methods":["key"],"allow":["alice"]}`, "allow"},
		{`{"methods":["key"],"allow":["` + didWeb + `"]}`, "allow"},
		{`{"methods":["key"],"audiences":["http://agents.example"]}`, "audiences"},
	} {
		resp, b := call(t, "PUT", gw.URL+"/admin/v1/teams/agents/did-policy", gw.cfg.AdminToken, c.body)
		var e struct {
			Error struct{ Code, Field, Message string }
		}
		if err := json.Unmarshal([]byte(b), &e); err != nil || resp.StatusCode != 422 ||
			e.Error.Code != attach.CodeInvalid || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("PUT %s: %d %s, want 422 invalid_field on %s", c.body, resp.StatusCode, b, c.field)
		}
	}
	for _, body := range []string{`{"methods":["key"],"trusted":true}`, `{"methods":"key"}`, `[]`, ``} {
		resp, b := call(t, "PUT", gw.URL+"/admin/v1/teams/agents/did-policy", gw.cfg.AdminToken, body)
		if resp.StatusCode != 400 || errorCode(t, b) != attach.CodeInvalidJSON {
			t.Errorf("PUT %q: %d %s, want 400 invalid_json", body, resp.StatusCode, b)
		}
	}
	if got := api.do("GET", "/teams/agents/did-policy", "", 200); fmt.Sprint(got) != want {
		t.Fatalf("after refused changes: %v", got)
	}
	api.do("GET", "/teams/nope/did-policy", "", 404)
	api.do("PUT", "/teams/nope/did-policy", `{"methods":["key"]}`, 404)
	if resp, _ := call(t, "GET", gw.URL+"/admin/v1/teams/agents/did-policy", "wrong-token-wrong-token", ""); resp.StatusCode != 401 {
		t.Fatalf("wrong admin token: %d", resp.StatusCode)
	}

	// An empty policy accepts no DID again.
	api.do("PUT", "/teams/agents/did-policy", `{"methods":[]}`, 200)
	waitFor(t, "the cleared DID policy in the directory", func() bool {
		s, ok := gw.dir.Team("agents")
		return ok && len(s.DID.Methods) == 0 && len(s.DID.Allow) == 0
	})
}
