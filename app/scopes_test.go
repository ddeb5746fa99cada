package app

import (
	"encoding/json"
	"testing"
)

// TestAPIKeyScopesMustBeKnown mints and updates keys through the management
// API: a scope the gateway does not know is refused 422 on the scopes
// field, where it used to be stored and then ignored.
func TestAPIKeyScopesMustBeKnown(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"acme","name":"Acme"}`, 201)
	k := admin.post("/teams/acme/keys", `{"name":"reader","scopes":["memory:admin"]}`, 201)
	id := k["id"].(string)

	for _, scopes := range []string{`["admin"]`, `["*"]`, `["memory:admin","chat"]`, `["Memory:Admin"]`, `["memory:*"]`} {
		for _, req := range []struct{ method, path string }{
			{"POST", "/admin/v1/teams/acme/keys"},
			{"PUT", "/admin/v1/teams/acme/keys/" + id},
		} {
			resp, body := call(t, req.method, gw.URL+req.path, gw.cfg.AdminToken, `{"name":"k","scopes":`+scopes+`}`)
			var e struct {
				Error struct{ Code, Field string }
			}
			_ = json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != 422 || e.Error.Code != "invalid_field" || e.Error.Field != "scopes" {
				t.Errorf("%s %s scopes %s: %d %s, want 422 invalid_field on scopes", req.method, req.path, scopes, resp.StatusCode, body)
			}
		}
	}
	if got := admin.do("GET", "/teams/acme/keys/"+id, "", 200); mustJSON(got["scopes"]) != `["memory:admin"]` {
		t.Errorf("key's scopes now %v", got["scopes"])
	}
}
