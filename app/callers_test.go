package app

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestCallersCounted calls a real gateway with an OIDC token from a real
// provider, a gateway API key and a delegation token, and finds each
// identity counted in Postgres: after a flush, and again after shutdown
// with the calls made since.
func TestCallersCounted(t *testing.T) {
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	// Only the test flushes (and shutdown), so what it reads is settled.
	cfg.KeyUsageInterval = time.Hour
	gw := startGateway(t, cfg)
	ctx := context.Background()

	team, ok := gw.dir.Team(gw.cfg.DefaultTeam)
	if !ok {
		t.Fatal("no default team")
	}
	key, keyToken, err := gw.store.CreateAPIKey(ctx, team.Team.ID, tenants.APIKeyInput{Name: "nightly-ci"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key on the request path", func() bool {
		s, _ := gw.dir.Team(gw.cfg.DefaultTeam)
		_, ok := s.APIKey(key.Prefix)
		return ok
	})
	oidcToken := idp.Token(t, "api://default")
	delegated, _, err := gw.delegator.Mint(identity.Delegation{
		TeamID: team.Team.ID, TeamSlug: team.Team.Slug, User: "gateway-rs256", Actor: "planner", Depth: 1,
	})
	if err != nil {
		t.Fatal(err)
	}

	calls := func(token string, n int) {
		t.Helper()
		for range n {
			if resp, body := call(t, "POST", gw.URL+"/api/chat", token, chatBody); resp.StatusCode != 200 {
				t.Fatalf("call: %d %s", resp.StatusCode, body)
			}
		}
	}
	calls(oidcToken, 3)
	calls(keyToken, 2)
	calls(delegated, 1)
	// A refused token is no caller.
	if resp, _ := call(t, "POST", gw.URL+"/api/chat", "not-a-token", chatBody); resp.StatusCode != 401 {
		t.Fatalf("bad token: %d", resp.StatusCode)
	}

	gw.callers.flush(ctx)
	want := map[string]int64{
		attach.MethodOIDC + " gateway-rs256 ":                3,
		attach.MethodAPIKey + " apikey:" + key.ID + " ":      2,
		identity.MethodDelegation + " gateway-rs256 planner": 1,
	}
	checkCallers(t, gw.store, team.Team.ID, want, key)

	// Calls made after the last flush reach Postgres at shutdown.
	calls(oidcToken, 2)
	calls(delegated, 1)
	gw.Close(ctx)
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	want[attach.MethodOIDC+" gateway-rs256 "] = 5
	want[identity.MethodDelegation+" gateway-rs256 planner"] = 2
	checkCallers(t, tenants.NewStore(pool, nil), team.Team.ID, want, key)
}

func checkCallers(t *testing.T, store *tenants.Store, teamID string, want map[string]int64, key attach.APIKey) {
	t.Helper()
	list, err := store.ListCallers(context.Background(), teamID, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range list {
		got[c.Method+" "+c.Subject+" "+c.Actor] = c.Count
		if c.Method == attach.MethodAPIKey && c.KeyName != key.Name {
			t.Errorf("key caller %+v not named %q", c, key.Name)
		}
		if c.Method == attach.MethodOIDC && c.Issuer == "" {
			t.Errorf("OIDC caller %+v without its issuer", c)
		}
	}
	if len(got) != len(want) {
		t.Errorf("callers %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("caller %q counted %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

// memCallers is a store in memory, for the counter's own rules.
type memCallers struct {
	fail    bool
	batches [][]tenants.CallerCount
	pruned  []time.Time
}

func (m *memCallers) AddCallerCounts(_ context.Context, batch []tenants.CallerCount) error {
	if m.fail {
		return errors.New("postgres away")
	}
	m.batches = append(m.batches, batch)
	return nil
}

func (m *memCallers) PruneCallerCounts(_ context.Context, before time.Time) (int64, error) {
	m.pruned = append(m.pruned, before)
	return 0, nil
}

func TestCallerCountsBoundAndRetry(t *testing.T) {
	store := &memCallers{}
	cc := newCallerCounts(store, testLogger(), time.Hour)
	cc.limit = 3
	now := time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC)
	p := func(team, sub string) attach.Principal {
		return attach.Principal{TeamID: team, Method: attach.MethodOIDC, Issuer: "https://idp", Subject: sub}
	}
	for i := range 5 {
		cc.record(p("t1", "user"+strconv.Itoa(i)), now)
	}
	cc.record(p("t1", "user0"), now.Add(time.Second)) // known: counted as itself
	cc.record(p("t2", "new"), now)                    // over the bound: t2's other row

	// Postgres is away: nothing is lost, and the next flush sends all.
	store.fail = true
	cc.flush(context.Background())
	cc.record(p("t1", "user1"), now)
	store.fail = false
	cc.flush(context.Background())
	if len(store.batches) != 1 {
		t.Fatalf("%d batches sent, want 1", len(store.batches))
	}
	got := map[string]int64{}
	for _, c := range store.batches[0] {
		got[c.TeamID+" "+c.Method+" "+c.Subject] = c.Count
		if !c.Hour.Equal(now.Truncate(time.Hour)) {
			t.Errorf("count %+v not in the hour of the call", c)
		}
		if c.Subject == "user0" && !c.LastSeen.Equal(now.Add(time.Second)) {
			t.Errorf("user0 last seen %v, want the later call", c.LastSeen)
		}
	}
	want := map[string]int64{
		"t1 oidc user0": 2, "t1 oidc user1": 2, "t1 oidc user2": 1,
		"t1 other ": 2, "t2 other ": 1,
	}
	if len(got) != len(want) {
		t.Fatalf("flushed %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d, want %d (all %v)", k, got[k], n, got)
		}
	}

	// Nothing counted: nothing sent. Pruning runs once an hour.
	cc.flush(context.Background())
	if len(store.batches) != 1 {
		t.Errorf("an empty flush sent a batch")
	}
	cc.prune(context.Background(), now)
	cc.prune(context.Background(), now.Add(time.Minute))
	cc.prune(context.Background(), now.Add(61*time.Minute))
	if len(store.pruned) != 2 || !store.pruned[0].Equal(now.Add(-tenants.CallerRetention)) {
		t.Errorf("pruned %v, want twice, first before %v", store.pruned, now.Add(-tenants.CallerRetention))
	}
}

// BenchmarkCallerRecord is what counting a caller adds to a request.
func BenchmarkCallerRecord(b *testing.B) {
	cc := newCallerCounts(&memCallers{}, testLogger(), time.Hour)
	p := attach.Principal{TeamID: "0190a1b2-0000-7000-8000-000000000000", Method: attach.MethodOIDC, Issuer: "https://idp.example", Subject: "alice"}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cc.record(p, now)
		}
	})
}
