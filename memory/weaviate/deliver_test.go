package weaviate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

func TestDeliverKeepsTeamsApart(t *testing.T) {
	t.Parallel()
	sinkOnBothPaths(t, func(t *testing.T, srv *weaviatetest.Server, s *Sink) {
		teamA, teamB := newTeam(), newTeam()
		evA := makeEvents(t, teamA, "alice", 30, func(i int) string { return fmt.Sprintf("alpha secret plan %d", i) })
		evB := makeEvents(t, teamB, "bob", 20, func(i int) string { return fmt.Sprintf("bravo notes %d", i) })
		deliver(t, s, teamA, evA)
		deliver(t, s, teamB, evB)

		if n := count(t, s, teamA); n != len(evA) {
			t.Errorf("team A holds %d events, want %d", n, len(evA))
		}
		if n := count(t, s, teamB); n != len(evB) {
			t.Errorf("team B holds %d events, want %d", n, len(evB))
		}
		checkIDs(t, ids(t, s, teamA), evA)
		checkIDs(t, ids(t, s, teamB), evB)

		// Weaviate itself, asked tenant by tenant, agrees.
		checkIDs(t, restIDs(t, srv, s.Class(), teamA), evA)
		checkIDs(t, restIDs(t, srv, s.Class(), teamB), evB)

		// A search in team B never reaches team A's words.
		got, err := s.Search(testCtx(t), "secret", memory.Filter{TeamID: teamB})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("team B's search found %d of team A's events", len(got))
		}
		got, err = s.Search(testCtx(t), "secret", memory.Filter{TeamID: teamA, Limit: 100})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		if len(got) != len(evA) {
			t.Errorf("team A's search found %d events, want %d", len(got), len(evA))
		}
		for _, e := range got {
			if e.TeamID != teamA {
				t.Errorf("team A's search returned an event of team %q", e.TeamID)
			}
		}
	})
}

// restIDs lists a tenant's object ids straight from Weaviate's REST API.
func restIDs(t *testing.T, srv *weaviatetest.Server, class, team string) []string {
	t.Helper()
	tenant, err := TenantName(team)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"class": {class}, "tenant": {tenant}, "limit": {"1000"}}
	resp, err := http.Get(srv.URL() + "/v1/objects?" + q.Encode())
	if err != nil {
		t.Fatalf("GET objects: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET objects of %s: %d %s", tenant, resp.StatusCode, body)
	}
	var list struct {
		Objects []struct {
			ID     string `json:"id"`
			Tenant string `json:"tenant"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode objects: %v", err)
	}
	out := make([]string, 0, len(list.Objects))
	for _, o := range list.Objects {
		if o.Tenant != "" && o.Tenant != tenant {
			t.Errorf("object %s of tenant %q listed under %q", o.ID, o.Tenant, tenant)
		}
		out = append(out, o.ID)
	}
	return out
}

func checkIDs(t *testing.T, got []string, want []attach.Event) {
	t.Helper()
	w := eventIDs(want)
	slices.Sort(w)
	g := slices.Clone(got)
	slices.Sort(g)
	if !slices.Equal(g, w) {
		t.Errorf("ids: got %d %v…, want %d %v…", len(g), head(g), len(w), head(w))
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func TestDeliverRoundTripsEveryField(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), true)
	team := newTeam()
	ev := makeEvents(t, team, "carol@example.com", 1, func(int) string { return "a unique zebra sentence" })[0]
	ev.TaskID = "task-42"
	ev.Truncated = true
	ev.Metadata = json.RawMessage(`{"tokens":12,"tags":["x","y"]}`)
	ev.CreatedAt = time.Date(2025, 4, 5, 6, 7, 8, 123456789, time.UTC)
	deliver(t, s, team, []attach.Event{ev})

	got, err := s.Search(testCtx(t), "zebra", memory.Filter{TeamID: team})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("found %d events, want 1", len(got))
	}
	g := got[0]
	if !g.CreatedAt.Equal(ev.CreatedAt) {
		t.Errorf("created_at %v, want %v", g.CreatedAt, ev.CreatedAt)
	}
	var gm, wm any
	if err := json.Unmarshal(g.Metadata, &gm); err != nil {
		t.Fatalf("metadata %q: %v", g.Metadata, err)
	}
	_ = json.Unmarshal(ev.Metadata, &wm)
	if fmt.Sprint(gm) != fmt.Sprint(wm) {
		t.Errorf("metadata %s, want %s", g.Metadata, ev.Metadata)
	}
	g.CreatedAt, g.Metadata = ev.CreatedAt, ev.Metadata
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", ev) {
		t.Errorf("event read back differs:\n got %+v\nwant %+v", g, ev)
	}
}

func TestRedeliveryLeavesOneObjectPerEvent(t *testing.T) {
	t.Parallel()
	sinkOnBothPaths(t, func(t *testing.T, _ *weaviatetest.Server, s *Sink) {
		team := newTeam()
		events := makeEvents(t, team, "dave", 50, func(i int) string { return fmt.Sprintf("message %d", i) })
		deliver(t, s, team, events)
		deliver(t, s, team, events)
		deliver(t, s, team, events[10:20])
		if n := count(t, s, team); n != len(events) {
			t.Fatalf("after redelivery the team holds %d events, want %d", n, len(events))
		}
		checkIDs(t, ids(t, s, team), events)

		// Redelivering an event with new content replaces it.
		events[3].Content = "rewritten walrus"
		deliver(t, s, team, events[3:4])
		got, err := s.Search(testCtx(t), "walrus", memory.Filter{TeamID: team})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		if len(got) != 1 || got[0].ID != events[3].ID {
			t.Fatalf("search for the new content found %v, want event %s", got, events[3].ID)
		}
		if n := count(t, s, team); n != len(events) {
			t.Errorf("after an update the team holds %d events, want %d", n, len(events))
		}
	})
}

func TestDeliverRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := newSink(t, weaviatetest.Shared(t), false)
	team := newTeam()
	good := makeEvents(t, team, "erin", 2, func(int) string { return "ok" })
	fieldOf := func(err error) string { // the field of a validation error
		if e := attach.AsError(err); e != nil && e.Code == attach.CodeInvalid {
			return e.Field
		}
		return ""
	}

	if err := s.Deliver(testCtx(t), "not-a-uuid", good); fieldOf(err) != "team_id" {
		t.Errorf("bad team id: %v, want a team_id validation error", err)
	}
	bad := slices.Clone(good)
	bad[1].ID = "nope"
	if err := s.Deliver(testCtx(t), team, bad); fieldOf(err) != "id" {
		t.Errorf("bad event id: %v, want an id validation error", err)
	}
	other := slices.Clone(good)
	other[0].TeamID = newTeam()
	if err := s.Deliver(testCtx(t), team, other); fieldOf(err) != "team_id" {
		t.Errorf("event of another team: %v, want a team_id validation error", err)
	}
	if err := s.DeliverWithVectors(testCtx(t), team, good, [][]float32{{1}}); err == nil {
		t.Error("DeliverWithVectors accepted fewer vectors than events")
	}
	if n := count(t, s, team); n != 0 {
		t.Errorf("refused deliveries wrote %d events", n)
	}
	if err := s.Deliver(testCtx(t), team, nil); err != nil {
		t.Errorf("delivering nothing: %v", err)
	}
}

// Weaviate refuses a vector whose length differs from the tenant's others:
// one bad object must fail the whole call, naming the object.
func TestDeliverReportsObjectErrors(t *testing.T) {
	t.Parallel()
	sinkOnBothPaths(t, func(t *testing.T, _ *weaviatetest.Server, s *Sink) {
		team := newTeam()
		first := makeEvents(t, team, "fay", 2, func(int) string { return "first" })
		if err := s.DeliverWithVectors(testCtx(t), team, first, [][]float32{{1, 0, 0}, {0, 1, 0}}); err != nil {
			t.Fatalf("DeliverWithVectors: %v", err)
		}
		next := makeEvents(t, team, "fay", 3, func(int) string { return "next" })
		err := s.DeliverWithVectors(testCtx(t), team, next, [][]float32{{1, 0, 0}, {1, 0, 0, 0}, {0, 0, 1}})
		if err == nil {
			t.Fatal("a batch with a bad vector was accepted")
		}
		if !strings.Contains(err.Error(), "1 of 3 objects not written") || !strings.Contains(err.Error(), next[1].ID) {
			t.Errorf("error %q does not name the failed object %s", err, next[1].ID)
		}
	})
}

func TestManyGatewaysCreateTheSchemaAtOnce(t *testing.T) {
	t.Parallel()
	srv := weaviatetest.Shared(t)
	class := testClass()
	const replicas = 4
	sinks := make([]*Sink, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			sinks[i], errs[i] = New(testCtx(t), Config{URL: srv.URL(), GRPCAddr: srv.GRPCAddr(), Class: class})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: New: %v", i, err)
		}
		t.Cleanup(func() { sinks[i].Close() })
	}
	// Every replica writes the same team's first events at once: the tenant
	// is created by one, found by the others.
	team := newTeam()
	var all []attach.Event
	for i := range replicas {
		all = append(all, makeEvents(t, team, fmt.Sprintf("user%d", i), 5, func(int) string { return "hello" })...)
	}
	for i := range replicas {
		wg.Go(func() { errs[i] = sinks[i].Deliver(testCtx(t), team, all[i*5:(i+1)*5]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Deliver: %v", i, err)
		}
	}
	if n := count(t, sinks[0], team); n != len(all) {
		t.Errorf("team holds %d events, want %d", n, len(all))
	}
}

func TestNewRefusesAClassWithoutMultiTenancy(t *testing.T) {
	t.Parallel()
	srv := weaviatetest.Shared(t)
	class := testClass()
	body := fmt.Sprintf(`{"class":%q,"vectorizer":"none"}`, class)
	resp, err := http.Post(srv.URL()+"/v1/schema", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create class: %d", resp.StatusCode)
	}
	_, err = New(testCtx(t), Config{URL: srv.URL(), Class: class})
	if err == nil || !strings.Contains(err.Error(), "without multi-tenancy") {
		t.Fatalf("New on a single-tenant class: %v", err)
	}
}

func TestNewAddsMissingProperties(t *testing.T) {
	t.Parallel()
	srv := weaviatetest.Shared(t)
	class := testClass()
	// A class an older gateway made, before taskId existed.
	body := fmt.Sprintf(`{"class":%q,"vectorizer":"none","multiTenancyConfig":{"enabled":true},
		"properties":[{"name":"content","dataType":["text"]}]}`, class)
	resp, err := http.Post(srv.URL()+"/v1/schema", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := newSinkConfig(t, srv, false, Config{Class: class})
	team := newTeam()
	ev := makeEvents(t, team, "gus", 1, func(int) string { return "upgraded" })
	ev[0].TaskID = "t-1"
	deliver(t, s, team, ev)
	got, err := s.Search(testCtx(t), "", memory.Filter{TeamID: team, TaskID: "t-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("filter on an added property: %v, %v", got, err)
	}
}

// A tenant removed behind the sink's back (an operator erasing a team) is
// made again when the failed delivery is retried.
func TestDeliverRemakesARemovedTenant(t *testing.T) {
	t.Parallel()
	sinkOnBothPaths(t, func(t *testing.T, srv *weaviatetest.Server, s *Sink) {
		team := newTeam()
		deliver(t, s, team, makeEvents(t, team, "kim", 3, func(int) string { return "before" }))
		tenant, _ := TenantName(team)
		req, _ := http.NewRequest(http.MethodDelete, srv.URL()+"/v1/schema/"+s.Class()+"/tenants", strings.NewReader(`["`+tenant+`"]`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delete tenant: %d", resp.StatusCode)
		}

		after := makeEvents(t, team, "kim", 2, func(int) string { return "after" })
		if err := s.Deliver(testCtx(t), team, after); err == nil {
			t.Fatal("delivery into a removed tenant succeeded on the first try")
		} else if !tenantMissing(err) {
			t.Fatalf("delivery into a removed tenant: %v", err)
		}
		deliver(t, s, team, after)
		checkIDs(t, ids(t, s, team), after)
	})
}
