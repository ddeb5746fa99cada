package weaviate

import (
	"slices"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

func TestSearchFindsWordsWithinFilters(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), true)
	team := newTeam()
	// Twelve events: users alternate, kinds alternate (prompt, response),
	// sessions cycle over three; every fourth mentions kubernetes.
	events := makeEvents(t, team, "", 12, func(i int) string {
		if i%4 == 0 {
			return "How do I restart a Kubernetes pod?"
		}
		return "Something about gardening and tomatoes"
	})
	for i := range events {
		events[i].User = []string{"ann", "ben"}[i%2]
		if i >= 8 {
			events[i].TaskID = "task-7"
		}
	}
	deliver(t, s, team, events)
	search := func(text string, f memory.Filter) []string {
		t.Helper()
		f.TeamID = team
		got, err := s.Search(testCtx(t), text, f)
		if err != nil {
			t.Fatalf("Search(%q, %+v): %v", text, f, err)
		}
		out := make([]string, len(got))
		for i, e := range got {
			out[i] = e.ID
		}
		return out
	}
	want := func(idx ...int) []string {
		out := make([]string, len(idx))
		for i, j := range idx {
			out[i] = events[j].ID
		}
		return out
	}
	same := func(name string, got, want []string) {
		t.Helper()
		g, w := slices.Clone(got), slices.Clone(want)
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: got %v, want %v", name, g, w)
		}
	}

	same("word, any case", search("kubernetes", memory.Filter{}), want(0, 4, 8))
	same("two words", search("restart tomatoes", memory.Filter{Limit: 50}), want(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
	same("absent word", search("volcano", memory.Filter{}), nil)
	same("user", search("kubernetes", memory.Filter{User: "ann"}), want(0, 4, 8))
	same("other user", search("kubernetes", memory.Filter{User: "ben"}), nil)
	same("kind", search("gardening", memory.Filter{Kind: attach.KindResponse}), want(1, 3, 5, 7, 9, 11))
	same("session", search("gardening", memory.Filter{Session: "sess-1"}), want(1, 7, 10))
	same("task", search("gardening", memory.Filter{TaskID: "task-7"}), want(9, 10, 11))
	same("all filters", search("kubernetes", memory.Filter{User: "ann", Kind: attach.KindPrompt, Session: "sess-2", TaskID: "task-7"}), want(8))
	same("before", search("kubernetes", memory.Filter{Before: events[8].ID}), want(0, 4))
	if got := search("gardening", memory.Filter{Limit: 2}); len(got) != 2 {
		t.Errorf("limit 2 returned %d events", len(got))
	}
	// A user name is matched whole, not as words.
	same("partial user", search("kubernetes", memory.Filter{User: "an"}), nil)

	// Empty text lists the filtered events, newest first.
	listed := search("", memory.Filter{User: "ben", Limit: 3})
	if !slices.Equal(listed, want(11, 9, 7)) {
		t.Errorf("listing: got %v, want the newest three of ben", listed)
	}

	// Text that would break a hand-built query is just text.
	for _, q := range []string{`"}) { x }`, `back\slash`, "new\nline", "nul\x00", "emoji 🦙", `\u0041`} {
		if _, err := s.Search(testCtx(t), q, memory.Filter{TeamID: team}); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	}
	if got := search("kubernetes", memory.Filter{User: `ann"} OR {path: ["user"]`}); len(got) != 0 {
		t.Errorf("a quote in a filter value widened the search: %v", got)
	}
}

func TestSearchOfATeamWithoutEvents(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), false)
	team := newTeam()
	got, err := s.Search(testCtx(t), "anything", memory.Filter{TeamID: team})
	if err != nil || len(got) != 0 {
		t.Errorf("Search: %v, %v; want nothing", got, err)
	}
	if n, err := s.Count(testCtx(t), team); err != nil || n != 0 {
		t.Errorf("Count: %d, %v; want 0", n, err)
	}
	if got, err := s.IDs(testCtx(t), team); err != nil || len(got) != 0 {
		t.Errorf("IDs: %v, %v; want none", got, err)
	}
	if err := s.DeleteUser(testCtx(t), team, "nobody"); err != nil {
		t.Errorf("DeleteUser: %v", err)
	}
}

func TestSearchRefusesBadFilters(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), false)
	team := newTeam()
	for _, f := range []memory.Filter{
		{TeamID: ""},
		{TeamID: "team-a"},
		{TeamID: team, Limit: -1},
		{TeamID: team, Before: "yesterday"},
	} {
		if _, err := s.Search(testCtx(t), "x", f); attach.ErrorCode(err) != attach.CodeInvalid {
			t.Errorf("Search with %+v: %v, want a validation error", f, err)
		}
	}
}

func TestIDsPagesThroughLargeTenants(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), true)
	team := newTeam()
	events := makeEvents(t, team, "hal", 2*idPage+37, func(int) string { return "bulk" })
	deliver(t, s, team, events)
	got := ids(t, s, team)
	checkIDs(t, got, events)
	if !slices.IsSorted(got) {
		t.Error("ids are not in id order")
	}
}

func TestDeleteUserRemovesExactlyThatUser(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), true)
	teamA, teamB := newTeam(), newTeam()
	alice := makeEvents(t, teamA, "alice", 25, func(int) string { return "alice writes" })
	bob := makeEvents(t, teamA, "bob", 15, func(int) string { return "bob writes" })
	aliceB := makeEvents(t, teamB, "alice", 5, func(int) string { return "alice elsewhere" })
	// A user whose name contains alice's is someone else.
	alicia := makeEvents(t, teamA, "alice.smith", 4, func(int) string { return "alice smith writes" })
	deliver(t, s, teamA, append(append(slices.Clone(alice), bob...), alicia...))
	deliver(t, s, teamB, aliceB)

	if err := s.DeleteUser(testCtx(t), teamA, "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkIDs(t, ids(t, s, teamA), append(slices.Clone(bob), alicia...))
	checkIDs(t, ids(t, s, teamB), aliceB)
	got, err := s.Search(testCtx(t), "", memory.Filter{TeamID: teamA, User: "alice"})
	if err != nil || len(got) != 0 {
		t.Errorf("after DeleteUser a listing of alice gives %d events, %v", len(got), err)
	}
	// Deleting again finds nothing and is fine.
	if err := s.DeleteUser(testCtx(t), teamA, "alice"); err != nil {
		t.Errorf("second DeleteUser: %v", err)
	}
	if err := s.DeleteUser(testCtx(t), teamA, ""); err == nil {
		t.Error("DeleteUser with no user was accepted")
	}
}

func TestVectorSearch(t *testing.T) {
	t.Parallel()
	sinkOnBothPaths(t, func(t *testing.T, _ *weaviatetest.Server, s *Sink) {
		team := newTeam()
		events := makeEvents(t, team, "ivy", 3, func(i int) string { return []string{"east", "north", "up"}[i] })
		vectors := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
		if err := s.DeliverWithVectors(testCtx(t), team, events, vectors); err != nil {
			t.Fatalf("DeliverWithVectors: %v", err)
		}
		got, err := s.SearchVector(testCtx(t), []float32{0.1, 0.9, 0.2}, memory.Filter{TeamID: team, Limit: 2})
		if err != nil {
			t.Fatalf("SearchVector: %v", err)
		}
		if len(got) != 2 || got[0].Content != "north" || got[1].Content != "up" {
			t.Errorf("nearest two: %+v", got)
		}
		got, err = s.SearchVector(testCtx(t), []float32{0, 1, 0}, memory.Filter{TeamID: team, Kind: attach.KindPrompt})
		if err != nil {
			t.Fatalf("SearchVector: %v", err)
		}
		for _, e := range got {
			if e.Kind != attach.KindPrompt {
				t.Errorf("filtered vector search returned a %s", e.Kind)
			}
		}
		if _, err := s.SearchVector(testCtx(t), nil, memory.Filter{TeamID: team}); err == nil {
			t.Error("an empty vector was accepted")
		}
	})
}

func TestWhereClause(t *testing.T) {
	t.Parallel()
	got, err := whereClause(memory.Filter{User: `a"b`, Kind: "prompt"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{operator: And, operands: [{path: ["user"], operator: Equal, valueText: "a\"b"}, {path: ["kind"], operator: Equal, valueText: "prompt"}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, _ := whereClause(memory.Filter{TeamID: "x", Limit: 3}); got != "" {
		t.Errorf("no conditions gave %q", got)
	}
}

func TestQuoteEscapesEverythingThatEndsALiteral(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain`:  `"plain"`,
		`a"b`:    `"a\"b"`,
		`a\b`:    `"a\\b"`,
		"a\nb":   `"a\nb"`,
		"a\x00b": `"a\u0000b"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
		if strings.ContainsAny(quote(in)[1:len(quote(in))-1], "\n\x00") {
			t.Errorf("quote(%q) holds a raw control character", in)
		}
	}
}

func TestDeleteTeamDropsItsTenant(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), true)
	teamA, teamB := newTeam(), newTeam()
	deliver(t, s, teamA, makeEvents(t, teamA, "alice", 20, func(int) string { return "alpha writes" }))
	kept := makeEvents(t, teamB, "alice", 5, func(int) string { return "beta writes" })
	deliver(t, s, teamB, kept)

	if err := s.DeleteTeam(testCtx(t), teamA); err != nil {
		t.Fatalf("DeleteTeam: %v", err)
	}
	exists, err := s.client.Schema().TenantsExists().WithClassName(s.class).WithTenant("team-" + teamA).Do(testCtx(t))
	if err != nil || exists {
		t.Errorf("after DeleteTeam the tenant exists: %v, %v", exists, err)
	}
	if n, err := s.Count(testCtx(t), teamA); err != nil || n != 0 {
		t.Errorf("after DeleteTeam the team counts %d events, %v", n, err)
	}
	checkIDs(t, ids(t, s, teamB), kept)
	// Again, and a team that never delivered anything: nothing to drop.
	for _, team := range []string{teamA, newTeam()} {
		if err := s.DeleteTeam(testCtx(t), team); err != nil {
			t.Errorf("DeleteTeam of a team without a tenant: %v", err)
		}
	}
	if err := s.DeleteTeam(testCtx(t), "not-a-uuid"); err == nil {
		t.Error("DeleteTeam accepted a malformed team id")
	}
}
