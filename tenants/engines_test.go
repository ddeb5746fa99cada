package tenants

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// storedKey reads an engine's key back the way the gateway does.
func storedKey(t *testing.T, s *Store, engineID string) (string, bool) {
	t.Helper()
	var sealed []byte
	if err := s.pool.QueryRow(testCtx(t), "SELECT api_key_enc FROM engines WHERE id = $1", engineID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed == nil {
		return "", false
	}
	plain, err := s.sealer.Open(sealed, engineAD(engineID))
	if err != nil {
		t.Fatalf("open stored key: %v", err)
	}
	return string(plain), true
}

func TestEngineCRUD(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")

	e, err := s.CreateEngine(ctx, team.ID, EngineInput{
		Name: "gpu-box", Dialect: attach.DialectOpenAI, BaseURL: "https://llm.example/v1/",
		APIKey: ptr("sk-abcdefghijkl1234"), Models: []string{"llama3", " llama3 ", "qwen"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.BaseURL != "https://llm.example/v1" || e.APIKey != "" || e.APIKeyLast4 != "1234" || !slices.Equal(e.Models, []string{"llama3", "qwen"}) {
		t.Fatalf("created = %+v", e)
	}
	if k, ok := storedKey(t, s, e.ID); !ok || k != "sk-abcdefghijkl1234" {
		t.Fatalf("stored key = %q, %v", k, ok)
	}
	if _, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "gpu-box", Dialect: attach.DialectOllama, BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate name: err = %v, want conflict", err)
	}
	if _, err := s.CreateEngine(ctx, other.ID, EngineInput{Name: "gpu-box", Dialect: attach.DialectOllama, BaseURL: "http://x"}); err != nil {
		t.Fatalf("same name on another team: %v", err)
	}

	got, err := s.GetEngine(ctx, team.ID, e.ID)
	if err != nil || got.Name != "gpu-box" || got.APIKey != "" {
		t.Fatalf("GetEngine = %+v, %v", got, err)
	}
	if _, err := s.GetEngine(ctx, other.ID, e.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("engine through another team: err = %v", err)
	}

	// nil key keeps it.
	upd, err := s.UpdateEngine(ctx, team.ID, e.ID, EngineInput{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434"})
	if err != nil || upd.Name != "gpu" || upd.APIKeyLast4 != "1234" || len(upd.Models) != 0 {
		t.Fatalf("update keeping key = %+v, %v", upd, err)
	}
	if k, _ := storedKey(t, s, e.ID); k != "sk-abcdefghijkl1234" {
		t.Fatalf("key after keep = %q", k)
	}
	// A new key replaces it; a short one shows no last four.
	upd, err = s.UpdateEngine(ctx, team.ID, e.ID, EngineInput{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", APIKey: ptr("short")})
	if err != nil || upd.APIKeyLast4 != "" {
		t.Fatalf("update with short key = %+v, %v", upd, err)
	}
	if k, _ := storedKey(t, s, e.ID); k != "short" {
		t.Fatalf("key after replace = %q", k)
	}
	// "" clears it.
	if _, err := s.UpdateEngine(ctx, team.ID, e.ID, EngineInput{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", APIKey: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := storedKey(t, s, e.ID); ok {
		t.Fatal("key still stored after clearing")
	}

	if _, err := s.UpdateEngine(ctx, other.ID, e.ID, EngineInput{Name: "x", Dialect: attach.DialectOllama, BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("update through another team: err = %v", err)
	}
	if err := s.DeleteEngine(ctx, team.ID, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEngine(ctx, team.ID, e.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("second delete: err = %v", err)
	}
	if _, err := s.CreateEngine(ctx, "0190a1b2-0000-7000-8000-000000000000", EngineInput{Name: "x", Dialect: attach.DialectOllama, BaseURL: "http://x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("engine on missing team: err = %v", err)
	}
}

func TestEngineKeyNeedsSealer(t *testing.T) {
	t.Parallel()
	_, pool := newTestStore(t)
	s := NewStore(pool, nil)
	team := mustTeam(t, s, "acme")
	_, err := s.CreateEngine(testCtx(t), team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://x", APIKey: ptr("sk-123456789012")})
	if err == nil {
		t.Fatal("stored an API key without a secret key")
	}
	if _, err := s.CreateEngine(testCtx(t), team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://x"}); err != nil {
		t.Fatalf("engine without a key: %v", err)
	}
}

func TestEngineValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	ok := EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434"}
	with := func(f func(*EngineInput)) EngineInput { in := ok; f(&in); return in }
	cases := []struct {
		in    EngineInput
		field string
	}{
		{with(func(in *EngineInput) { in.Name = "" }), "name"},
		{with(func(in *EngineInput) { in.Name = ".hidden" }), "name"},
		{with(func(in *EngineInput) { in.Name = "has space" }), "name"},
		{with(func(in *EngineInput) { in.Name = "slash/name" }), "name"},
		{with(func(in *EngineInput) { in.Dialect = "" }), "dialect"},
		{with(func(in *EngineInput) { in.Dialect = "vllm" }), "dialect"},
		{with(func(in *EngineInput) { in.BaseURL = "" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "127.0.0.1:11434" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "unix:///run/ollama.sock" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "http:///path" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "http://x/?q=1" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "http://x/#frag" }), "base_url"},
		{with(func(in *EngineInput) { in.BaseURL = "https://user:sk@x" }), "base_url"},
		{with(func(in *EngineInput) { in.Models = []string{"ok", ""} }), "models"},
		{with(func(in *EngineInput) { in.Models = []string{"  "} }), "models"},
	}
	for _, c := range cases {
		_, err := s.CreateEngine(ctx, team.ID, c.in)
		if !isValidation(err, c.field) {
			t.Errorf("CreateEngine(%+v): err = %v, want a validation error on %s", c.in, err, c.field)
		}
	}
	for i, name := range []string{"A", "vllm_1.prod-eu", "x234567890123456789012345678901234567890123456789012345678901234"[:63]} {
		if _, err := s.CreateEngine(ctx, team.ID, with(func(in *EngineInput) { in.Name = name; in.Default = i == 0 })); err != nil {
			t.Errorf("CreateEngine(%q): %v", name, err)
		}
	}
}

func defaults(t *testing.T, s *Store, teamID string) []string {
	t.Helper()
	list, _, err := s.ListEngines(testCtx(t), teamID, Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		if e.Default {
			out = append(out, e.Name)
		}
	}
	return out
}

func TestDefaultEngineSwitches(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")
	in := func(name string, def bool) EngineInput {
		return EngineInput{Name: name, Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", Default: def}
	}
	a, err := s.CreateEngine(ctx, team.ID, in("a", true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEngine(ctx, other.ID, in("o", true)); err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateEngine(ctx, team.ID, in("b", true))
	if err != nil {
		t.Fatal(err)
	}
	if got := defaults(t, s, team.ID); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after creating b as default: defaults = %v", got)
	}
	if _, err := s.UpdateEngine(ctx, team.ID, a.ID, in("a", true)); err != nil {
		t.Fatal(err)
	}
	if got := defaults(t, s, team.ID); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after making a default: defaults = %v", got)
	}
	if got := defaults(t, s, other.ID); !slices.Equal(got, []string{"o"}) {
		t.Fatalf("other team's default changed: %v", got)
	}
	if _, err := s.UpdateEngine(ctx, team.ID, a.ID, in("a", false)); err != nil {
		t.Fatal(err)
	}
	if got := defaults(t, s, team.ID); len(got) != 0 {
		t.Fatalf("after unsetting: defaults = %v", got)
	}
	_ = b

	// Many concurrent switches still leave exactly one default.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := a.ID
			name := "a"
			if i%2 == 1 {
				id, name = b.ID, "b"
			}
			_, err := s.UpdateEngine(ctx, team.ID, id, in(name, true))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent default switch: %v", err)
		}
	}
	if got := defaults(t, s, team.ID); len(got) != 1 {
		t.Fatalf("after concurrent switches: defaults = %v", got)
	}
}

func TestListEnginesPages(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	var want []string
	for i := range 5 {
		e, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: fmt.Sprintf("e%d", i), Dialect: attach.DialectOllama, BaseURL: "http://x"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
	}
	first, next, err := s.ListEngines(ctx, team.ID, Page{Limit: 4})
	if err != nil || len(first) != 4 || next != first[3].ID {
		t.Fatalf("first page: %d, next %q, err %v", len(first), next, err)
	}
	rest, next, err := s.ListEngines(ctx, team.ID, Page{Limit: 4, After: next})
	if err != nil || len(rest) != 1 || next != "" || rest[0].ID != want[4] {
		t.Fatalf("second page: %+v, next %q, err %v", rest, next, err)
	}
}

func TestEnsureEngine(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	in := EngineInput{Name: "default", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", APIKey: ptr("sk-abcdefghijkl"), Models: []string{"tiny"}, Default: true}
	first, err := s.EnsureEngine(ctx, team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsureEngine(ctx, team.ID, in)
	if err != nil || again.ID != first.ID || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("unchanged ensure wrote: %+v, %v", again, err)
	}
	in.BaseURL = "http://127.0.0.1:11435"
	in.APIKey = ptr("sk-newnewnewnew")
	changed, err := s.EnsureEngine(ctx, team.ID, in)
	if err != nil || changed.ID != first.ID || changed.BaseURL != in.BaseURL {
		t.Fatalf("changed ensure: %+v, %v", changed, err)
	}
	if k, _ := storedKey(t, s, first.ID); k != "sk-newnewnewnew" {
		t.Fatalf("key after ensure = %q", k)
	}

	// Two replicas at once on a fresh name: one engine, no error.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.EnsureEngine(ctx, team.ID, EngineInput{Name: "shared", Dialect: attach.DialectOpenAI, BaseURL: "http://x", APIKey: ptr("sk-shared-123456")})
			ids[i], errs[i] = e.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent ensure %d: id %s (want %s), err %v", i, ids[i], ids[0], errs[i])
		}
	}
}
