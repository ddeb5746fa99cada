package tenants

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	attach "github.com/attach-dev/attach-gateway"
)

func TestCallerCountsAddUpAndName(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "counted")
	other := mustTeam(t, s, "elsewhere")
	u := mustUser(t, s, "ana@example.test")
	key, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "ci-bot"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := s.CreateAgent(ctx, team.ID, AgentInput{Name: "planner", BaseURL: "https://agents.example/planner/"})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	keySubject := attach.SubjectPrefixAPIKey + key.ID
	batch := []CallerCount{
		{TeamID: team.ID, Hour: now, Method: attach.MethodOIDC, Issuer: "https://idp.example", Subject: "alice", Count: 3, LastSeen: now.Add(-time.Minute)},
		// The same identity twice in one batch (the flusher never sends
		// this, but a batch must not fail for it).
		{TeamID: team.ID, Hour: now, Method: attach.MethodOIDC, Issuer: "https://idp.example", Subject: "alice", Count: 2, LastSeen: now},
		// The same identity an hour earlier adds to the day's count.
		{TeamID: team.ID, Hour: hour.Add(-time.Hour), Method: attach.MethodOIDC, Issuer: "https://idp.example", Subject: "alice", Count: 1, LastSeen: hour.Add(-time.Minute)},
		{TeamID: team.ID, Hour: now, Method: attach.MethodAPIKey, Issuer: attach.IssuerAPIKey, Subject: keySubject, Count: 7, LastSeen: now},
		{TeamID: team.ID, Hour: now, Method: "console", Issuer: "https://gw.example/console", Subject: attach.UserSubject(u.ID), Count: 2, LastSeen: now},
		{TeamID: team.ID, Hour: now, Method: "delegation", Issuer: "https://gw.example", Subject: attach.UserSubject(u.ID), Actor: "planner", Count: 4, LastSeen: now},
		{TeamID: team.ID, Hour: now, Method: attach.MethodDID, Issuer: "did:key:z6Mk", Subject: "did:key:z6Mk", Count: 1, LastSeen: now},
		// Two days ago: outside the day.
		{TeamID: team.ID, Hour: now.Add(-48 * time.Hour), Method: attach.MethodDID, Issuer: "did:key:zOld", Subject: "did:key:zOld", Count: 9, LastSeen: now.Add(-48 * time.Hour)},
		// Another team's caller, a team that does not exist, an empty count.
		{TeamID: other.ID, Hour: now, Method: attach.MethodOIDC, Issuer: "https://idp.example", Subject: "mallory", Count: 50, LastSeen: now},
		{TeamID: "0190a1b2-0000-7000-8000-000000000000", Hour: now, Method: attach.MethodOIDC, Issuer: "x", Subject: "ghost", Count: 1, LastSeen: now},
		{TeamID: team.ID, Hour: now, Method: attach.MethodOIDC, Issuer: "x", Subject: "nobody", Count: 0, LastSeen: now},
	}
	if err := s.AddCallerCounts(ctx, batch); err != nil {
		t.Fatalf("add: %v", err)
	}
	// A second flush adds to what is stored.
	if err := s.AddCallerCounts(ctx, []CallerCount{
		{TeamID: team.ID, Hour: now, Method: attach.MethodAPIKey, Issuer: attach.IssuerAPIKey, Subject: keySubject, Count: 1, LastSeen: now},
	}); err != nil {
		t.Fatalf("add again: %v", err)
	}

	list, err := s.ListCallers(ctx, team.ID, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Caller{}
	var order []string
	for _, c := range list {
		got[c.Method+" "+c.Subject] = c
		order = append(order, c.Method+" "+c.Subject)
	}
	if len(list) != 5 {
		t.Fatalf("callers %v, want 5 (oidc, key, console, delegation, did)", order)
	}
	if want := "apikey " + keySubject; order[0] != want {
		t.Errorf("busiest first: order %v, want %s first", order, want)
	}
	if c := got["oidc alice"]; c.Count != 6 || c.Issuer != "https://idp.example" || !c.LastSeen.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("alice: %+v, want 6 calls over two hours, last seen now", c)
	}
	if c := got["apikey "+keySubject]; c.Count != 8 || c.KeyID != key.ID || c.KeyName != "ci-bot" || c.KeyPrefix != key.Prefix {
		t.Errorf("key: %+v, want 8 calls named ci-bot with its prefix", c)
	}
	if c := got["console "+attach.UserSubject(u.ID)]; c.Count != 2 || c.UserName != u.Name || c.UserEmail != u.Email {
		t.Errorf("console user: %+v, want named %q <%s>", c, u.Name, u.Email)
	}
	if c := got["delegation "+attach.UserSubject(u.ID)]; c.Count != 4 || c.Actor != "planner" || c.AgentID != agent.ID || c.UserEmail != u.Email {
		t.Errorf("delegation: %+v, want planner (%s) for %s", c, agent.ID, u.Email)
	}
	if _, ok := got["did did:key:zOld"]; ok {
		t.Error("a count from two days ago is listed for the last day")
	}

	// Another team sees only its own callers.
	theirs, err := s.ListCallers(ctx, other.ID, now.Add(-24*time.Hour))
	if err != nil || len(theirs) != 1 || theirs[0].Subject != "mallory" {
		t.Fatalf("other team's callers %+v, %v; want mallory alone", theirs, err)
	}

	// A key gone from the table (keys are revoked, not deleted, but a
	// team's erasure may take them) still shows its calls, without a name.
	if _, err := pool.Exec(ctx, "DELETE FROM api_keys WHERE id = $1", key.ID); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListCallers(ctx, team.ID, now.Add(-24*time.Hour))
	if err != nil || len(list) == 0 || list[0].KeyID != key.ID || list[0].KeyName != "" || list[0].Count != 8 {
		t.Fatalf("after deleting the key: %+v, %v", list, err)
	}

	// Pruning drops hours before the cut and keeps the rest.
	n, err := s.PruneCallerCounts(ctx, now.Add(-CallerRetention))
	if err != nil || n != 0 {
		t.Fatalf("prune at retention: %d, %v; want nothing deleted", n, err)
	}
	n, err = s.PruneCallerCounts(ctx, now.Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("prune before a day: %d, %v; want the count from two days ago", n, err)
	}
}

func TestListCallersUnknownTeam(t *testing.T) {
	t.Parallel()
	s, _, ctx, _ := newTeamStore(t, "lonely")
	if _, err := s.ListCallers(ctx, "not-an-id", time.Now()); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("bad id: %v, want not found", err)
	}
	list, err := s.ListCallers(ctx, "0190a1b2-0000-7000-8000-000000000000", time.Now().Add(-time.Hour))
	if err != nil || len(list) != 0 {
		t.Fatalf("missing team: %+v, %v; want none", list, err)
	}
}

func TestCallerCountsClipLongFields(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "long")
	long := strings.Repeat("é", 2000) // 4000 bytes, two per rune
	now := time.Now()
	if err := s.AddCallerCounts(ctx, []CallerCount{
		{TeamID: team.ID, Hour: now, Method: attach.MethodOIDC, Issuer: "a" + long, Subject: long, Count: 1, LastSeen: now},
	}); err != nil {
		t.Fatalf("add: %v", err)
	}
	list, err := s.ListCallers(ctx, team.ID, now.Add(-time.Hour))
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	for _, f := range []string{list[0].Issuer, list[0].Subject} {
		if len(f) > maxCallerField || !utf8.ValidString(f) || len(f) < maxCallerField-4 {
			t.Errorf("stored field of %d bytes (valid UTF-8: %v), want clipped to about %d", len(f), utf8.ValidString(f), maxCallerField)
		}
	}
}

func FuzzClip(f *testing.F) {
	f.Add("plain")
	f.Add(strings.Repeat("é", 400))
	f.Add(strings.Repeat("x", 511) + "€€")
	f.Add("\xff\xfe" + strings.Repeat("a", 600))
	f.Fuzz(func(t *testing.T, s string) {
		out := clip(s)
		if len(out) > maxCallerField || !strings.HasPrefix(s, out) {
			t.Fatalf("clip(%q) = %q", s, out)
		}
		if len(s) <= maxCallerField && out != s {
			t.Fatalf("clip changed a short string")
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("clip split a rune: %q", out)
		}
	})
}
