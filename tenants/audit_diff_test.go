package tenants

import (
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// TestAuditUpdatesAreDiffs: an engine or issuer edit is logged with what
// changed, from and to; saving it unchanged logs nothing.
func TestAuditUpdatesAreDiffs(t *testing.T) {
	t.Parallel()
	s, _, _, team := newTeamStore(t, "diffs")
	ctx := actorCtx(t, mustUser(t, s, "editor@example.com"))
	in := EngineInput{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1", Models: []string{"tiny"}}
	e, err := s.CreateEngine(ctx, team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		list, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := count()
	if _, err := s.UpdateEngine(ctx, team.ID, e.ID, in); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != before {
		t.Fatalf("an unchanged save wrote %d audit entries", n-before)
	}
	in.BaseURL, in.Models = "http://127.0.0.1:2", nil
	if _, err := s.UpdateEngine(ctx, team.ID, e.ID, in); err != nil {
		t.Fatal(err)
	}
	list, _, _ := s.ListAudit(ctx, team.ID, Page{Limit: 1})
	changes, _ := list[0].Detail["changes"].(map[string]any)
	url, _ := changes["base_url"].(map[string]any)
	if list[0].Action != AuditEngineUpdate || url["from"] != "http://127.0.0.1:1" || url["to"] != "http://127.0.0.1:2" ||
		changes["models"] == nil || changes["name"] != nil || len(changes) != 2 {
		t.Fatalf("engine update entry %+v", list[0].Detail)
	}
	secret := "sk-upstream"
	in.APIKey = &secret
	if _, err := s.UpdateEngine(ctx, team.ID, e.ID, in); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.ListAudit(ctx, team.ID, Page{Limit: 1})
	if c, _ := list[0].Detail["changes"].(map[string]any); c["api_key"] != "set" || len(c) != 1 {
		t.Fatalf("key change entry %+v", list[0].Detail)
	}

	is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "https://idp.example", Audience: "api://a"})
	if err != nil {
		t.Fatal(err)
	}
	before = count()
	if _, err := s.UpdateIssuer(ctx, team.ID, is.ID, IssuerInput{URL: "https://idp.example", Audience: "api://a"}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != before {
		t.Fatalf("an unchanged issuer save wrote %d audit entries", n-before)
	}
	if _, err := s.UpdateIssuer(ctx, team.ID, is.ID, IssuerInput{URL: "https://idp.example", Audience: "api://b"}); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.ListAudit(ctx, team.ID, Page{Limit: 1})
	c, _ := list[0].Detail["changes"].(map[string]any)
	if aud, _ := c["audience"].(map[string]any); aud["from"] != "api://a" || aud["to"] != "api://b" || len(c) != 1 {
		t.Fatalf("issuer update entry %+v", list[0].Detail)
	}
}
