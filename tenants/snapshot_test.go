package tenants

import (
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestSnapshotEngineRouting(t *testing.T) {
	t.Parallel()
	a := attach.Engine{ID: "a", Name: "a", Models: []string{"llama3", "qwen:7b"}}
	b := attach.Engine{ID: "b", Name: "b", Models: []string{"mistral:latest"}, Default: true}
	s := NewSnapshot(attach.Team{Slug: "acme"}, nil, []attach.Engine{a, b}, nil, nil, 1)
	cases := []struct{ model, want string }{
		{"llama3", "a"},
		{"llama3:latest", "a"},
		{"qwen:7b", "a"},
		{"qwen", "b"}, // a different tag is a different model: default
		{"mistral", "b"},
		{"unknown", "b"},
		{"", "b"},
	}
	for _, c := range cases {
		e, ok := s.Engine(c.model)
		if !ok || e.ID != c.want {
			t.Errorf("Engine(%q) = %q, %v; want %q", c.model, e.ID, ok, c.want)
		}
	}
}

func TestSnapshotDefaultEngine(t *testing.T) {
	t.Parallel()
	// A single engine not ticked default takes only the models it lists,
	// as the engine form says.
	one := NewSnapshot(attach.Team{}, nil, []attach.Engine{{ID: "only", Models: []string{"tiny"}}}, nil, nil, 1)
	if e, ok := one.DefaultEngine(); ok {
		t.Fatalf("a single engine not ticked default is the default: %q", e.ID)
	}
	if _, ok := one.Engine("other"); ok {
		t.Fatal("an unknown model went to the single engine not ticked default")
	}
	if e, ok := one.Engine("tiny:latest"); !ok || e.ID != "only" {
		t.Fatalf("Engine(tiny:latest) = %q, %v; want the engine that lists it", e.ID, ok)
	}
	ticked := NewSnapshot(attach.Team{}, nil, []attach.Engine{{ID: "only", Default: true}}, nil, nil, 1)
	if e, ok := ticked.Engine("other"); !ok || e.ID != "only" {
		t.Fatalf("Engine(other) = %q, %v; want the default engine", e.ID, ok)
	}
	two := NewSnapshot(attach.Team{}, nil, []attach.Engine{{ID: "x"}, {ID: "y"}}, nil, nil, 1)
	if _, ok := two.DefaultEngine(); ok {
		t.Fatal("two engines without a default flag picked one")
	}
	if _, ok := two.Engine("anything"); ok {
		t.Fatal("unknown model routed with no default")
	}
	none := NewSnapshot(attach.Team{}, nil, nil, nil, nil, 1)
	if _, ok := none.Engine(""); ok {
		t.Fatal("a team with no engines routed somewhere")
	}
}

func TestSnapshotModels(t *testing.T) {
	t.Parallel()
	s := NewSnapshot(attach.Team{}, nil, []attach.Engine{
		{ID: "a", Models: []string{"llama3", "qwen:7b"}},
		{ID: "b", Models: []string{"llama3:latest", "mistral"}},
		{ID: "c"},
	}, nil, nil, 1)
	if got := strings.Join(s.Models(), ","); got != "llama3,qwen:7b,mistral" {
		t.Fatalf("Models() = %s", got)
	}
}

func TestSnapshotAPIKeyLookup(t *testing.T) {
	t.Parallel()
	s := NewSnapshot(attach.Team{}, nil, nil, nil, []attach.APIKey{{ID: "1", Prefix: "aaaaaaaaaaaa"}, {ID: "2", Prefix: "bbbbbbbbbbbb"}}, 7)
	if k, ok := s.APIKey("bbbbbbbbbbbb"); !ok || k.ID != "2" {
		t.Fatalf("APIKey = %+v, %v", k, ok)
	}
	if _, ok := s.APIKey("cccccccccccc"); ok {
		t.Fatal("found an unknown prefix")
	}
	if s.Version != 7 {
		t.Fatalf("Version = %d", s.Version)
	}
}

func TestSnapshotAgentByName(t *testing.T) {
	t.Parallel()
	s := NewSnapshot(attach.Team{}, nil, nil, []attach.Agent{{ID: "1", Name: "planner"}, {ID: "2", Name: "coder"}}, nil, 1)
	if a, ok := s.Agent("coder"); !ok || a.ID != "2" {
		t.Fatalf("Agent = %+v, %v", a, ok)
	}
	if _, ok := s.Agent("Coder"); ok {
		t.Fatal("found an agent under another spelling")
	}
}
