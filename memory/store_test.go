package memory

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestAddGetList(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	other := mustTeam(t, pool, "b")
	s := mustStore(t, pool, mustSinks(t, "", NewPostgresSink(pool)))

	var ids []string
	for i := range 7 {
		user := "alice"
		if i%2 == 1 {
			user = "bob"
		}
		e, err := s.Add(ctx, attach.Event{TeamID: team, User: user, Session: "s1", Kind: attach.KindNote,
			Content: fmt.Sprintf("note %d", i), Metadata: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == "" || e.CreatedAt.IsZero() {
			t.Fatalf("added event lacks id or time: %+v", e)
		}
		ids = append(ids, e.ID)
	}
	if _, err := s.Add(ctx, attach.Event{TeamID: other, User: "alice", Kind: attach.KindNote, Content: "other team"}); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, team, ids[0])
	if err != nil || got.Content != "note 0" || got.User != "alice" || string(got.Metadata) != `{"n":0}` {
		t.Fatalf("Get = %+v (%s), %v", got, got.Metadata, err)
	}
	if _, err := s.Get(ctx, other, ids[0]); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("Get through another team: %v, want not found", err)
	}
	if _, err := s.Get(ctx, team, "nope"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("Get malformed id: %v", err)
	}

	// Newest first, in pages of 3, following the cursor.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		list, next, err := s.List(ctx, Filter{TeamID: team, Limit: 3, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			seen = append(seen, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 7 {
		t.Fatalf("listed %d events, want 7", len(seen))
	}
	for i, id := range seen {
		if id != ids[6-i] {
			t.Fatalf("position %d: %s, want %s (newest first)", i, id, ids[6-i])
		}
	}
	bobs, _, err := s.List(ctx, Filter{TeamID: team, User: "bob"})
	if err != nil || len(bobs) != 3 {
		t.Fatalf("bob's events: %d, %v", len(bobs), err)
	}
	if _, _, err := s.List(ctx, Filter{TeamID: team, Limit: 201}); err == nil {
		t.Fatal("limit 201 accepted")
	}
	if _, _, err := s.List(ctx, Filter{TeamID: team, Kind: "shout"}); err == nil {
		t.Fatal("unknown kind accepted")
	}
	// The events table is the Postgres sink: nothing waits for delivery.
	if n := outboxCount(t, pool); n != 0 {
		t.Fatalf("outbox holds %d events, want none for the Postgres sink", n)
	}
	// A team whose sink is elsewhere gets one outbox row per event.
	queued := mustStore(t, pool, mustSinks(t, BackendWeaviate, NewPostgresSink(pool), newRecordingSink(BackendWeaviate)))
	if _, err := queued.Add(ctx, attach.Event{TeamID: team, User: "carol", Kind: attach.KindNote, Content: "hi"}); err != nil {
		t.Fatal(err)
	}
	if n := outboxCount(t, pool); n != 1 {
		t.Fatalf("outbox holds %d events, want 1", n)
	}
}

func TestAddValidatesAndCleans(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	s := mustStore(t, pool, mustSinks(t, "", NewPostgresSink(pool)))

	for name, e := range map[string]attach.Event{
		"empty content": {TeamID: team, Kind: attach.KindNote, Content: "  \n"},
		"bad kind":      {TeamID: team, Kind: "memo", Content: "x"},
		"too long":      {TeamID: team, Kind: attach.KindNote, Content: strings.Repeat("x", DefaultMaxContent+1)},
		"bad metadata":  {TeamID: team, Kind: attach.KindNote, Content: "x", Metadata: json.RawMessage(`{`)},
	} {
		if _, err := s.Add(ctx, e); attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	if _, err := s.Add(ctx, attach.Event{TeamID: "0190a1b2-0000-7000-8000-000000000009", Kind: attach.KindNote, Content: "x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Errorf("unknown team: %v", err)
	}

	e, err := s.Add(ctx, attach.Event{TeamID: team, User: "u\x00x", Kind: attach.KindNote,
		Content:  "call with Authorization: Bearer abcdefghijklmnop0123 and key sk-proj-abcdefghijklmnop1234\x00",
		Metadata: json.RawMessage(`{"password":"hunter2","note":"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln","nul":"a\u0000b"}`)})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, team, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"abcdefghijklmnop0123", "sk-proj", "hunter2", "eyJhbGci", "\x00"} {
		if strings.Contains(stored.Content, secret) || strings.Contains(string(stored.Metadata), secret) {
			t.Errorf("stored event keeps %q: %q %s", secret, stored.Content, stored.Metadata)
		}
	}
	if stored.User != "ux" {
		t.Errorf("user = %q, want the NUL dropped", stored.User)
	}
}

func TestSearchPostgres(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	other := mustTeam(t, pool, "b")
	s := mustStore(t, pool, mustSinks(t, "", NewPostgresSink(pool)))
	for _, c := range []string{"the quick brown fox", "a lazy dog sleeps", "fox and fox and fox", "brown bread"} {
		if _, err := s.Add(ctx, attach.Event{TeamID: team, User: "u", Kind: attach.KindNote, Content: c}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Add(ctx, attach.Event{TeamID: other, User: "u", Kind: attach.KindNote, Content: "fox of another team"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Search(ctx, "fox", Filter{TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Content != "fox and fox and fox" {
		t.Fatalf("search fox = %+v", list)
	}
	list, err = s.Search(ctx, `brown -fox`, Filter{TeamID: team})
	if err != nil || len(list) != 1 || list[0].Content != "brown bread" {
		t.Fatalf("search 'brown -fox' = %+v, %v", list, err)
	}
	list, err = s.Search(ctx, "fox", Filter{TeamID: team, User: "someone else"})
	if err != nil || len(list) != 0 {
		t.Fatalf("search scoped to another user = %+v, %v", list, err)
	}
}

func TestEraseUser(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	// Weaviate here, so the events also wait in the outbox.
	s := mustStore(t, pool, mustSinks(t, BackendWeaviate, NewPostgresSink(pool), newRecordingSink(BackendWeaviate)))
	for _, u := range []string{"alice", "alice", "bob"} {
		if _, err := s.Add(ctx, attach.Event{TeamID: team, User: u, Kind: attach.KindNote, Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.EraseUser(ctx, team, "alice")
	if err != nil || n != 2 {
		t.Fatalf("EraseUser = %d, %v; want 2", n, err)
	}
	left, _, err := s.List(ctx, Filter{TeamID: team})
	if err != nil || len(left) != 1 || left[0].User != "bob" {
		t.Fatalf("left after erasure: %+v, %v", left, err)
	}
	if got := outboxCount(t, pool); got != 1 {
		t.Fatalf("outbox after erasure: %d rows, want bob's 1", got)
	}
	// Asking twice queues one erasure.
	if _, err := s.EraseUser(ctx, team, "alice"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Pending(ctx, team)
	if err != nil || p.Erasures != 1 || p.Events != 1 {
		t.Fatalf("Pending = %+v, %v; want 1 erasure and 1 event", p, err)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	ctx, pool, team := newTeamDB(t, "a")
	s := mustStore(t, pool, mustSinks(t, "", NewPostgresSink(pool)))

	got, err := s.Settings(ctx, team)
	if err != nil || got != (TeamSettings{Effective: BackendPostgres}) {
		t.Fatalf("fresh settings = %+v, %v", got, err)
	}
	if _, err := s.SetSettings(ctx, team, TeamSettings{Backend: BackendWeaviate}); attach.ErrorCode(err) != attach.CodeInvalid {
		t.Fatalf("weaviate without a weaviate sink: %v", err)
	}
	if _, err := s.SetSettings(ctx, team, TeamSettings{Backend: BackendNone, EmbedModel: "nomic-embed-text"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Settings(ctx, team)
	if err != nil || got != (TeamSettings{Backend: BackendNone, EmbedModel: "nomic-embed-text", Effective: BackendNone}) {
		t.Fatalf("settings = %+v, %v", got, err)
	}
	// A team that keeps no memory cannot store or search.
	if _, err := s.Add(ctx, attach.Event{TeamID: team, Kind: attach.KindNote, Content: "x"}); attach.ErrorCode(err) != attach.CodeDisabled {
		t.Fatalf("Add with backend none: %v", err)
	}
	if _, err := s.Search(ctx, "x", Filter{TeamID: team}); attach.ErrorCode(err) != attach.CodeDisabled {
		t.Fatalf("Search with backend none: %v", err)
	}
	if _, err := s.SetSettings(ctx, team, TeamSettings{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Settings(ctx, team); got.Backend != "" || got.Effective != BackendPostgres {
		t.Fatalf("after reset: %+v", got)
	}
	if _, err := s.SetSettings(ctx, "0190a1b2-0000-7000-8000-000000000009", TeamSettings{}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown team: %v", err)
	}
}
