package tenants

import (
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestMemorySettings(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	admin := mustUser(t, s, "admin@example.com")
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})
	backends := []string{"none", "postgres"}

	if got, err := s.MemorySettings(ctx, team.ID); err != nil || got != (MemorySettings{}) {
		t.Fatalf("fresh settings = %+v, %v", got, err)
	}
	got, err := s.SetMemorySettings(actorCtx(t, admin), team.ID, MemorySettings{Backend: " none ", EmbedModel: "nomic-embed-text"}, backends)
	want := MemorySettings{Backend: "none", EmbedModel: "nomic-embed-text"}
	if err != nil || got != want {
		t.Fatalf("SetMemorySettings = %+v, %v", got, err)
	}
	if got, err := s.MemorySettings(ctx, team.ID); err != nil || got != want {
		t.Fatalf("settings = %+v, %v", got, err)
	}
	// The change is audited, by the actor, naming what it replaced.
	list, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("audit: %v, %v", list, err)
	}
	if e := list[0]; e.Action != AuditMemorySettings || e.ActorID != admin.ID || e.TargetID != team.ID ||
		e.Detail["backend"] != "none" || e.Detail["previous"] != "default" || e.Detail["embed_model"] != "nomic-embed-text" {
		t.Fatalf("audit entry %+v", e)
	}
	// The directory follows, through the team's own notices.
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return snap.Memory == want })

	// Refused: a backend the install has no sink for, an unprintable
	// model, a team that does not exist.
	if _, err := s.SetMemorySettings(ctx, team.ID, MemorySettings{Backend: "weaviate"}, backends); !isValidation(err, "backend") {
		t.Fatalf("backend without a sink: %v", err)
	}
	if _, err := s.SetMemorySettings(ctx, team.ID, MemorySettings{EmbedModel: "a\nb"}, backends); !isValidation(err, "embed_model") {
		t.Fatalf("model with a newline: %v", err)
	}
	if _, err := s.SetMemorySettings(ctx, team.ID, MemorySettings{EmbedModel: strings.Repeat("m", 201)}, backends); !isValidation(err, "embed_model") {
		t.Fatalf("model too long: %v", err)
	}
	if _, err := s.SetMemorySettings(ctx, "0190a1b2-0000-7000-8000-000000000009", MemorySettings{}, backends); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown team: %v", err)
	}
	if _, err := s.MemorySettings(ctx, "0190a1b2-0000-7000-8000-000000000009"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("settings of an unknown team: %v", err)
	}

	// The audit row shares the change's transaction: when it cannot be
	// written, the change is not made either.
	broken := WithActor(ctx, Actor{ID: "not-a-uuid", Name: "broken"})
	if _, err := s.SetMemorySettings(broken, team.ID, MemorySettings{}, backends); err == nil {
		t.Fatal("a change whose audit row failed was made")
	}
	if got, err := s.MemorySettings(ctx, team.ID); err != nil || got != want {
		t.Fatalf("after the failed change: %+v, %v", got, err)
	}

	// Back to the defaults.
	if _, err := s.SetMemorySettings(ctx, team.ID, MemorySettings{}, backends); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return snap.Memory == MemorySettings{} })
}
