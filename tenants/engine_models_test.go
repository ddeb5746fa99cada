package tenants

import (
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestCompareModels(t *testing.T) {
	t.Parallel()
	missing, extra := CompareModels([]string{"tiny", "phi3", "qwen:7b"}, []string{"tiny:latest", "qwen:14b", "llama3:8b", "llama3:8b"})
	if strings.Join(missing, ",") != "phi3,qwen:7b" || strings.Join(extra, ",") != "qwen:14b,llama3:8b" {
		t.Fatalf("missing %v, extra %v", missing, extra)
	}
	if m, x := CompareModels(nil, nil); m != nil || x != nil {
		t.Fatalf("nothing configured or served: %v %v", m, x)
	}
}

func TestAddEngineModels(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	e, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://x", Models: []string{"tiny"}})
	if err != nil {
		t.Fatal(err)
	}
	got, added, err := s.AddEngineModels(ctx, team.ID, e.ID, []string{"tiny:latest", "llama3"})
	if err != nil || strings.Join(added, ",") != "llama3" || strings.Join(got.Models, ",") != "tiny,llama3" {
		t.Fatalf("AddEngineModels = %v, added %v, %v", got.Models, added, err)
	}
	if _, added, err := s.AddEngineModels(ctx, team.ID, e.ID, []string{"llama3:latest"}); err != nil || added != nil {
		t.Fatalf("nothing new: added %v, %v", added, err)
	}
	if _, _, err := s.AddEngineModels(ctx, team.ID, e.ID, []string{" "}); attach.ErrorCode(err) != attach.CodeInvalid {
		t.Fatalf("an empty name: %v", err)
	}
	other := mustTeam(t, s, "other")
	if _, _, err := s.AddEngineModels(ctx, other.ID, e.ID, []string{"x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("another team's engine: %v", err)
	}
	if cur, _ := s.GetEngine(ctx, team.ID, e.ID); strings.Join(cur.Models, ",") != "tiny,llama3" {
		t.Fatalf("models now %v", cur.Models)
	}
}
