package memory

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustTeam creates a team and returns its id.
func mustTeam(t testing.TB, pool *pgxpool.Pool, slug string) string {
	t.Helper()
	team, err := tenants.NewStore(pool, nil).CreateTeam(testCtx(t), tenants.TeamInput{Slug: slug, Name: "Team " + slug})
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	return team.ID
}

func mustSinks(t testing.TB, def string, sinks ...Sink) *Sinks {
	t.Helper()
	s, err := NewSinks(def, sinks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queuedSinks have a default backend whose events go through the outbox.
func queuedSinks(t testing.TB) *Sinks {
	t.Helper()
	return mustSinks(t, BackendWeaviate, newRecordingSink(BackendWeaviate))
}

// followTeams is a team directory of pool, loaded and kept current by a
// listener until the test ends, as in a running gateway.
func followTeams(t testing.TB, pool *pgxpool.Pool) *tenants.Directory {
	t.Helper()
	dir := tenants.NewDirectory(pool, nil, quietLogger())
	l := tenants.NewListener(pool, quietLogger())
	l.Handle(tenants.NotifyChannel, dir.Handler())
	testkit.Go(t, l.Run)
	if err := dir.WaitFor(testCtx(t), func(d *tenants.Directory) bool { return d.Ready() }); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustStore(t testing.TB, pool *pgxpool.Pool, sinks *Sinks) *Store {
	t.Helper()
	s, err := NewStore(pool, sinks, tenants.NewStore(pool, nil), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// outboxCount is how many events wait for delivery.
func outboxCount(t testing.TB, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(testCtx(t), "SELECT count(*) FROM memory_outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// recordingSink is a sink that remembers what it was given, and can be
// told to fail.
type recordingSink struct {
	name string
	mu   sync.Mutex
	got  map[string]int // event id -> deliveries
	// failures left before deliveries succeed; -1 fails forever.
	failures int
	calls    int
	erased   []string // team/user, or team/ for a whole team
	changed  chan struct{}
}

func newRecordingSink(name string) *recordingSink {
	return &recordingSink{name: name, got: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (s *recordingSink) Name() string { return s.name }

func (s *recordingSink) Deliver(_ context.Context, teamID string, events []attach.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failures != 0 {
		if s.failures > 0 {
			s.failures--
		}
		return errSinkDown
	}
	for _, e := range events {
		if e.TeamID != teamID {
			return errWrongTeam
		}
		s.got[e.ID]++
	}
	s.notify()
	return nil
}

func (s *recordingSink) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *recordingSink) Search(context.Context, string, Filter) ([]attach.Event, error) {
	return nil, nil
}

func (s *recordingSink) DeleteUser(_ context.Context, teamID, user string) error {
	return s.erase(teamID + "/" + user)
}

// DeleteTeam is remembered as the team with no user: "team/".
func (s *recordingSink) DeleteTeam(_ context.Context, teamID string) error {
	return s.erase(teamID + "/")
}

func (s *recordingSink) erase(what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures != 0 {
		if s.failures > 0 {
			s.failures--
		}
		return errSinkDown
	}
	s.erased = append(s.erased, what)
	s.notify()
	return nil
}

func (s *recordingSink) setFailures(n int) {
	s.mu.Lock()
	s.failures = n
	s.mu.Unlock()
}

func (s *recordingSink) snapshot() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := make(map[string]int, len(s.got))
	for k, v := range s.got {
		got[k] = v
	}
	return got, append([]string(nil), s.erased...)
}

// waitUntil re-checks cond each time the sink changes or the poll ticks,
// until it holds or ctx ends.
func (s *recordingSink) waitUntil(ctx context.Context, t testing.TB, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("condition not met: %v", ctx.Err())
		case <-s.changed:
		case <-tick.C:
		}
	}
}

type sinkErr string

func (e sinkErr) Error() string { return string(e) }

const (
	// The error names a URL with credentials: they must not reach the outbox.
	errSinkDown  = sinkErr("sink unreachable at https://admin:hunter2@sink.example/v1 (Authorization: Bearer abcdef0123456789xyz)")
	errWrongTeam = sinkErr("event of another team delivered")
)

// newTeamDB is the start most store tests share: a context bounded by the
// test, a fresh database, and one team in it made with slug.
func newTeamDB(t testing.TB, slug string) (context.Context, *pgxpool.Pool, string) {
	t.Helper()
	pool := pgtestNew(t)
	return testCtx(t), pool, mustTeam(t, pool, slug)
}

func pgtestNew(t testing.TB) *pgxpool.Pool { return pgtest.New(t) }

func pgtestDSN(t testing.TB) string { return pgtest.NewDSN(t) }

func openPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
