package tenants

import (
	"fmt"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestTeamCRUD(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)

	created, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "  Acme Inc  "})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Slug != "acme" || created.Name != "Acme Inc" || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}

	got, err := s.GetTeam(ctx, "acme")
	if err != nil || got.ID != created.ID {
		t.Fatalf("GetTeam = %+v, %v", got, err)
	}
	byID, err := s.GetTeamByID(ctx, created.ID)
	if err != nil || byID.Slug != "acme" {
		t.Fatalf("GetTeamByID = %+v, %v", byID, err)
	}

	if _, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "Other"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate slug: err = %v, want conflict", err)
	}

	upd, err := s.UpdateTeam(ctx, "acme", TeamInput{Name: "Acme Corp"})
	if err != nil || upd.Name != "Acme Corp" || upd.Slug != "acme" || !upd.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("UpdateTeam = %+v, %v", upd, err)
	}
	renamed, err := s.UpdateTeam(ctx, "acme", TeamInput{Slug: "acme-2", Name: "Acme Corp"})
	if err != nil || renamed.Slug != "acme-2" || renamed.ID != created.ID {
		t.Fatalf("rename slug = %+v, %v", renamed, err)
	}
	mustTeam(t, s, "taken")
	if _, err := s.UpdateTeam(ctx, "acme-2", TeamInput{Slug: "taken", Name: "x"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("rename onto taken slug: err = %v, want conflict", err)
	}

	if err := s.DeleteTeamBySlug(ctx, "acme-2"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get deleted":    second(s.GetTeam(ctx, "acme-2")),
		"delete deleted": s.DeleteTeamBySlug(ctx, "acme-2"),
		"update missing": second(s.UpdateTeam(ctx, "nope", TeamInput{Name: "x"})),
		"bad slug":       second(s.GetTeam(ctx, "Not A Slug")),
		"bad id":         second(s.GetTeamByID(ctx, "not-a-uuid")),
	} {
		if attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("%s: err = %v, want not_found", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestTeamDeleteCascades(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "gone")
	if _, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "https://idp.example", Audience: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", APIKey: ptr("sk-123456789012")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTeamBySlug(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM issuers) + (SELECT count(*) FROM engines) + (SELECT count(*) FROM api_keys)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows left after deleting the team", n)
	}
}

func TestTeamValidation(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	long := make([]byte, 201)
	for i := range long {
		long[i] = 'x'
	}
	cases := []struct {
		in    TeamInput
		field string
	}{
		{TeamInput{Slug: "", Name: "x"}, "slug"},
		{TeamInput{Slug: "-lead", Name: "x"}, "slug"},
		{TeamInput{Slug: "Upper", Name: "x"}, "slug"},
		{TeamInput{Slug: "under_score", Name: "x"}, "slug"},
		{TeamInput{Slug: string(long[:64]), Name: "x"}, "slug"},
		{TeamInput{Slug: "ok", Name: ""}, "name"},
		{TeamInput{Slug: "ok", Name: "   "}, "name"},
		{TeamInput{Slug: "ok", Name: string(long)}, "name"},
		{TeamInput{Slug: "ok", Name: "tab\there"}, "name"},
	}
	for _, c := range cases {
		_, err := s.CreateTeam(ctx, c.in)
		if !isValidation(err, c.field) {
			t.Errorf("CreateTeam(%+v): err = %v, want a validation error on %s", c.in, err, c.field)
		}
	}
	for _, ok := range []TeamInput{
		{Slug: "a", Name: "A"},
		{Slug: "0-team-9", Name: "Team ü 日本"},
		{Slug: string(long[:63]), Name: string(long[:200])},
	} {
		if _, err := s.CreateTeam(ctx, ok); err != nil {
			t.Errorf("CreateTeam(%q): %v", ok.Slug, err)
		}
	}
}

func TestListTeamsPages(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	var want []string
	for i := range 7 {
		want = append(want, mustTeam(t, s, fmt.Sprintf("team-%d", i)).ID)
	}
	var got []string
	page := Page{Limit: 3}
	pages := 0
	for {
		list, next, err := s.ListTeams(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tm := range list {
			got = append(got, tm.ID)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %d pages %v, want 3 pages %v", pages, got, want)
	}

	// An exact multiple of the limit ends without an empty extra page.
	list, next, err := s.ListTeams(ctx, Page{Limit: 7})
	if err != nil || len(list) != 7 || next != "" {
		t.Fatalf("exact page: %d items, next %q, err %v", len(list), next, err)
	}
	all, _, err := s.ListTeams(ctx, Page{})
	if err != nil || len(all) != 7 {
		t.Fatalf("default page: %d items, err %v", len(all), err)
	}

	for _, bad := range []Page{{Limit: -1}, {Limit: 201}, {After: "garbage"}} {
		if _, _, err := s.ListTeams(ctx, bad); attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("ListTeams(%+v): err = %v, want a validation error", bad, err)
		}
	}
}
