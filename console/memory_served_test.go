package console

import (
	"encoding/json"
	"net/http"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// The memory pages show the model that served an answer next to the one
// asked for, when the engine answered under another name.
func TestMemoryShowsServedModel(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner := m.user("owner")
	team := m.team("served", owner)
	renamed := m.add(team, attach.Event{User: "agent", Kind: attach.KindResponse, Model: "tiny-alias", Engine: "gpu-box", Content: "Hello!",
		Metadata: json.RawMessage(`{"prompt_id":"x","status":200,"duration_ms":3,"served_model":"tiny:q8"}`)})
	same := m.add(team, attach.Event{User: "agent", Kind: attach.KindResponse, Model: "tiny", Engine: "gpu-box", Content: "Hi!",
		Metadata: json.RawMessage(`{"prompt_id":"y","status":200,"duration_ms":3,"served_model":"tiny:latest"}`)})

	b := m.signedIn(owner)
	list := b.get(Base + "/t/served/memory")
	wantStatus(t, list, http.StatusOK)
	wantContains(t, list, "tiny-alias → tiny:q8 · gpu-box", "tiny · gpu-box")
	wantLacks(t, list, "tiny → tiny:latest")

	p := b.get(Base + "/t/served/memory/" + renamed.ID)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Served by model", `data-testid="event-served-model">tiny:q8<`, `data-testid="event-model">tiny-alias<`)
	p = b.get(Base + "/t/served/memory/" + same.ID)
	wantContains(t, p, `data-testid="event-served-model">tiny:latest<`)
}
