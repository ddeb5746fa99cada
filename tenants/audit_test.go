package tenants

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func auditActions(entries []AuditEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Action
	}
	return out
}

func TestAuditWrittenWithEachChange(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	admin := mustUser(t, s, "admin@example.com")
	ctx := actorCtx(t, admin)

	const engineSecret = "sk-upstream-secret-0123456789"
	team, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "https://idp.example", Audience: "gw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateIssuer(ctx, team.ID, is.ID, IssuerInput{URL: "https://idp.example", Audience: "gw2"}); err != nil {
		t.Fatal(err)
	}
	e, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "gpu", Dialect: attach.DialectOpenAI, BaseURL: "http://127.0.0.1:1", APIKey: ptr(engineSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateEngine(ctx, team.ID, e.ID, EngineInput{Name: "gpu", Dialect: attach.DialectOpenAI, BaseURL: "http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	k, token, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "ci", Scopes: []string{attach.ScopeMemoryAdmin}, CreatedBy: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAPIKey(ctx, team.ID, k.ID, APIKeyInput{Name: "ci-2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, team.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, team.ID, k.ID); err != nil { // a retry changes nothing: no second row
		t.Fatal(err)
	}
	if err := s.DeleteEngine(ctx, team.ID, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIssuer(ctx, team.ID, is.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RenameTeam(ctx, team.ID, "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateTeam(ctx, "acme", TeamInput{Name: "Acme Inc"}); err != nil {
		t.Fatal(err)
	}

	entries, next, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil || next != "" {
		t.Fatalf("ListAudit: next %q, %v", next, err)
	}
	want := []string{AuditTeamUpdate, AuditTeamRename, AuditIssuerDelete, AuditEngineDelete, AuditAPIKeyRevoke, AuditAPIKeyUpdate,
		AuditAPIKeyCreate, AuditEngineUpdate, AuditEngineCreate, AuditIssuerUpdate, AuditIssuerCreate, AuditTeamCreate}
	if got := auditActions(entries); !slices.Equal(got, want) {
		t.Fatalf("actions, newest first:\n got %v\nwant %v", got, want)
	}
	for _, en := range entries {
		if en.TeamID != team.ID || en.ActorID != admin.ID || en.ActorName != admin.Email || en.ActorIP != "192.0.2.7" || en.CreatedAt.IsZero() {
			t.Errorf("%s: who/where = %+v", en.Action, en)
		}
	}
	byAction := map[string]AuditEntry{}
	for _, en := range entries {
		byAction[en.Action] = en
	}
	if c := byAction[AuditEngineCreate]; c.TargetType != "engine" || c.TargetID != e.ID || c.TargetName != "gpu" || c.Detail["api_key"] != "set" {
		t.Errorf("engine.create = %+v", c)
	}
	if u := byAction[AuditEngineUpdate]; u.Detail["api_key"] != "unchanged" || u.Detail["base_url"] != "http://127.0.0.1:2" {
		t.Errorf("engine.update detail = %v", u.Detail)
	}
	if r := byAction[AuditTeamRename]; r.Detail["name"] != "Acme Corp" || r.Detail["previous_name"] != "Acme" {
		t.Errorf("team.rename detail = %v", r.Detail)
	}
	if c := byAction[AuditAPIKeyCreate]; c.Detail["prefix"] != k.Prefix || c.TargetID != k.ID {
		t.Errorf("apikey.create = %+v", c)
	}

	// No secret reaches the log, in any column.
	var dump string
	if err := pool.QueryRow(ctx, "SELECT string_agg(to_jsonb(a)::text, '\n') FROM audit_log a").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	// The secret is what follows "atk_<prefix>_": base64url, so it may hold
	// '_' itself; cutting at the last '_' could leave a few characters that
	// turn up in the log by chance.
	secret := strings.TrimPrefix(token, "atk_"+k.Prefix+"_")
	if secret == token || len(secret) < 16 {
		t.Fatalf("the token is not atk_%s_<secret>", k.Prefix)
	}
	for name, v := range map[string]string{"engine key": engineSecret, "API key": token, "API key secret": secret, "API key hash": hex.EncodeToString(k.Hash)} {
		if strings.Contains(dump, v) {
			t.Errorf("audit log contains the %s", name)
		}
	}
}

func TestNoActorNoAudit(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "quiet")
	if _, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d audit rows without an actor (%v), want 0", n, err)
	}
}

func TestAuditIsAtomicWithTheChange(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	admin := mustUser(t, s, "admin@example.com")
	ctx := actorCtx(t, admin)
	team, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	in := EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1"}
	if _, err := s.CreateEngine(ctx, team.ID, in); err != nil {
		t.Fatal(err)
	}
	before := count("SELECT count(*) FROM audit_log")

	// A change that fails writes no audit row.
	if _, err := s.CreateEngine(ctx, team.ID, in); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate engine: %v", err)
	}
	if _, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "again"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate team: %v", err)
	}
	if err := s.SetRole(ctx, team.ID, admin.ID, RoleViewer); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("role of a non-member: %v", err)
	}
	if n := count("SELECT count(*) FROM audit_log"); n != before {
		t.Fatalf("failed changes wrote %d audit rows", n-before)
	}

	// An audit row that cannot be written undoes the change.
	broken := WithActor(testCtx(t), Actor{ID: "not-a-uuid", Name: "broken"})
	if _, err := s.CreateEngine(broken, team.ID, EngineInput{Name: "e2", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("change with an unwritable audit row succeeded")
	}
	if n := count("SELECT count(*) FROM engines WHERE name = 'e2'"); n != 0 {
		t.Fatal("the engine was created although its audit row failed")
	}
	if err := s.DeleteEngine(broken, team.ID, mustEngineID(t, s, team.ID, "e")); err == nil {
		t.Fatal("delete with an unwritable audit row succeeded")
	}
	if n := count("SELECT count(*) FROM engines WHERE name = 'e'"); n != 1 {
		t.Fatal("the engine was deleted although its audit row failed")
	}
	if _, err := s.RenameTeam(broken, team.ID, "Renamed"); err == nil {
		t.Fatal("rename with an unwritable audit row succeeded")
	}
	if got, _ := s.GetTeamByID(ctx, team.ID); got.Name != "Acme" {
		t.Fatalf("team renamed to %q although its audit row failed", got.Name)
	}
}

func third[A, B any](_ A, _ B, err error) error { return err }

func mustEngineID(t *testing.T, s *Store, teamID, name string) string {
	t.Helper()
	list, _, err := s.ListEngines(testCtx(t), teamID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Name == name {
			return e.ID
		}
	}
	t.Fatalf("no engine %s", name)
	return ""
}

func TestTeamDeletionAuditOutlivesTheTeam(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	owner := mustUser(t, s, "owner@example.com")
	ctx := actorCtx(t, owner)
	team, err := s.CreateTeamWithOwner(ctx, TeamInput{Slug: "short-lived", Name: "Short"}, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	if list, _, err := s.ListAudit(ctx, team.ID, Page{}); err != nil || len(list) != 0 {
		t.Fatalf("team's own log after deletion = %v, %v; want it gone with the team", auditActions(list), err)
	}
	list, _, err := s.ListAudit(ctx, "", Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].Action != AuditTeamDelete || list[0].TargetID != team.ID || list[0].Detail["slug"] != "short-lived" {
		t.Fatalf("install-wide log = %+v", list)
	}
	if err := s.DeleteTeam(ctx, team.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("delete again: %v", err)
	}
}

func TestRecordAuditAndPaging(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	u := mustUser(t, s, "who@example.com")
	team := mustTeam(t, s, "acme")
	ctx := actorCtx(t, u)

	for i := range 7 {
		if err := s.RecordAudit(ctx, team.ID, AuditEntry{Action: AuditSignIn, TargetName: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordAudit(ctx, "", AuditEntry{Action: AuditSignInFailed, ActorName: "someone@example.com", ActorIP: "198.51.100.1"}); err != nil {
		t.Fatal(err)
	}

	var names []string
	page := Page{Limit: 3}
	for range 5 {
		list, next, err := s.ListAudit(ctx, team.ID, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			names = append(names, e.TargetName)
			if e.ActorID != u.ID || e.ActorName != u.Email || e.ActorIP != "192.0.2.7" {
				t.Fatalf("actor not taken from the context: %+v", e)
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	if got := strings.Join(names, ""); got != "gfedcba" {
		t.Fatalf("pages gave %q, want newest first gfedcba", got)
	}

	// Users made without an actor left no row: the failed sign-in is alone.
	install, _, err := s.ListAudit(ctx, "", Page{})
	if err != nil || len(install) != 1 {
		t.Fatalf("install-wide = %+v, %v", install, err)
	}
	if e := install[0]; e.Action != AuditSignInFailed || e.ActorName != "someone@example.com" || e.ActorIP != "198.51.100.1" || e.TeamID != "" {
		t.Fatalf("install-wide entry = %+v", e)
	}

	for name, err := range map[string]error{
		"no action":  s.RecordAudit(ctx, team.ID, AuditEntry{}),
		"bad cursor": third(s.ListAudit(ctx, team.ID, Page{After: "x"})),
		"bad limit":  third(s.ListAudit(ctx, team.ID, Page{Limit: 500})),
	} {
		if attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("%s: err = %v, want a validation error", name, err)
		}
	}
	if err := s.RecordAudit(ctx, "0190a1b2-0000-7000-8000-000000000000", AuditEntry{Action: "x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("record for a missing team: %v", err)
	}
	if _, _, err := s.ListAudit(ctx, "nope", Page{}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("list for a bad team id: %v", err)
	}
}

func TestEnsureIsAuditedOnlyWhenItChanges(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := WithActor(testCtx(t), Actor{Name: "admin token", IP: "127.0.0.1"})
	team, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	in := IssuerInput{URL: "https://idp.example", Audience: "gw"}
	steps := []func() error{
		func() error { _, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "Default"}); return err },
		func() error { _, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "Renamed"}); return err },
		func() error { _, err := s.EnsureIssuer(ctx, team.ID, in); return err },
		func() error { _, err := s.EnsureIssuer(ctx, team.ID, in); return err },
		func() error {
			_, err := s.EnsureIssuer(ctx, team.ID, IssuerInput{URL: in.URL, Audience: in.Audience, UserClaim: "email"})
			return err
		},
		func() error {
			_, err := s.EnsureEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1"})
			return err
		},
		func() error {
			_, err := s.EnsureEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:1"})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	entries, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{AuditEngineCreate, AuditIssuerUpdate, AuditIssuerCreate, AuditTeamUpdate, AuditTeamCreate}
	if got := auditActions(entries); !slices.Equal(got, want) {
		t.Fatalf("actions = %v, want %v", got, want)
	}
	if e := entries[0]; e.ActorName != "admin token" || e.ActorID != "" || e.ActorIP != "127.0.0.1" {
		t.Fatalf("actor = %+v", e)
	}
}

func TestUserChangesAreAuditedInstallWide(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := WithActor(testCtx(t), Actor{Name: "setup", IP: "127.0.0.1"})
	token, err := s.CreateSetupToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.UseSetupToken(ctx, token, UserInput{Email: "first@example.com", Name: "First", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	const newPassword = "another secret passphrase"
	if err := s.SetPassword(actorCtx(t, first), first.ID, newPassword); err != nil {
		t.Fatal(err)
	}
	entries, _, err := s.ListAudit(ctx, "", Page{})
	if err != nil {
		t.Fatal(err)
	}
	if got := auditActions(entries); !slices.Equal(got, []string{AuditUserPassword, AuditSetupComplete, AuditUserCreate}) {
		t.Fatalf("actions = %v", got)
	}
	if e := entries[0]; e.TargetID != first.ID || e.ActorID != first.ID {
		t.Fatalf("user.password = %+v", e)
	}
	var dump string
	if err := pool.QueryRow(ctx, "SELECT string_agg(to_jsonb(a)::text, '\n') FROM audit_log a").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testPassword, newPassword, token, "argon2id"} {
		if strings.Contains(dump, secret) {
			t.Errorf("audit log contains %q", secret)
		}
	}
}
