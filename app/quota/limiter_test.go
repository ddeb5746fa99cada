package quota

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixedNow is the middle of a minute, so that no test run straddles two
// windows.
var fixedNow = time.Date(2026, 12, 1, 10, 30, 30, 0, time.UTC)

func clock() time.Time { return fixedNow }

const teamID = "00000000-0000-4000-8000-000000000001"

func limit(n int64) *int64 { return &n }

// teamWith is a team snapshot with the given quotas.
func teamWith(q *tenants.Quotas) *tenants.Snapshot {
	s := tenants.NewSnapshot(attach.Team{ID: teamID, Slug: "lab", Name: "Lab"}, nil, nil, nil, nil, 1)
	s.Quotas = q
	return s
}

// replicas makes n limiters, each with its own pool, on one database: n
// gateway replicas as far as quotas go.
func replicas(t *testing.T, n int, team *tenants.Snapshot) []*Limiter {
	t.Helper()
	dsn := pgtest.NewDSN(t)
	out := make([]*Limiter, n)
	for i := range out {
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		// A budget far above any lease's time: a busy test machine must not
		// turn requests into local decisions (TestPostgresOutage... covers those).
		out[i] = New(Config{DB: pool, Now: clock, IdleReturn: time.Nanosecond, Budget: time.Minute,
			Team: func(string) (*tenants.Snapshot, bool) { return team, true }})
	}
	return out
}

// hammer sends total requests from workers goroutines, each request to the
// next replica in turn; work runs one request and says whether it was
// admitted.
func hammer(total, workers int, work func(i int) bool) (admitted int64) {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				if work(int(i)) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return ok.Load()
}

// Three replicas on one Postgres, 600 requests from 16 goroutines against
// a limit of 300 a minute: together they admit no more than 300, and no
// fewer than 98 % of it.
func TestRequestLimitHoldsAcrossReplicas(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(300)}, nil, nil))
	rs := replicas(t, 3, team)
	ctx := context.Background()
	var refusals atomic.Int64
	admitted := hammer(600, 16, func(i int) bool {
		err := rs[i%3].Admit(ctx, team, "alice", "", true)
		var r *Refusal
		if errors.As(err, &r) {
			if r.Field != "team.rpm" || r.Limit != 300 {
				t.Errorf("refusal %+v", r)
			}
			refusals.Add(1)
			return false
		}
		if err != nil {
			t.Errorf("admit: %v", err)
		}
		return err == nil
	})
	t.Logf("admitted %d of 600 (limit 300), %d leases", admitted, rs[0].Stats().Leases+rs[1].Stats().Leases+rs[2].Stats().Leases)
	if admitted > 300 || admitted < 294 {
		t.Fatalf("admitted %d, want 294..300", admitted)
	}
	if admitted+refusals.Load() != 600 {
		t.Fatalf("admitted %d + refused %d != 600", admitted, refusals.Load())
	}
	for _, r := range rs {
		if s := r.Stats(); s.Local != 0 {
			t.Fatalf("requests decided without Postgres: %+v", s)
		}
	}
}

// Tokens are charged after the fact (Measure): three replicas, 16
// goroutines each admitting a request then charging 50, 100 or 150 tokens
// in turn, against 200,000 tokens a minute. Admission reserves the running
// average, so the total may pass the limit only by what the requests in
// flight used past their reservations (16 × 150 at the very most), and it
// reaches at least 98 % of the limit.
func TestTokenLimitHoldsAcrossReplicas(t *testing.T) {
	const tpm, workers, most = 200_000, 16, 150
	team := teamWith(tenants.NewQuotas(tenants.Limits{}, []tenants.UserLimits{{Subject: tenants.Any, Limits: tenants.Limits{TPM: limit(tpm)}}}, nil))
	rs := replicas(t, 3, team)
	ctx := context.Background()
	var tokens atomic.Int64
	hammer(2*tpm/100, workers, func(i int) bool {
		r := rs[i%3]
		if err := r.Admit(ctx, team, "bob", "", true); err != nil {
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Field != "user.tpm" {
				t.Errorf("admit: %v", err)
			}
			return false
		}
		n := 50 + 50*(i%3)
		r.Measure(attach.Usage{TeamID: teamID, User: "bob", PromptTokens: n / 2, CompletionTokens: n - n/2})
		tokens.Add(int64(n))
		return true
	})
	got := tokens.Load()
	t.Logf("tokens admitted %d (limit %d, stated bound +%d)", got, tpm, workers*most)
	if got > tpm+workers*most || got < tpm*98/100 {
		t.Fatalf("tokens %d, want %d..%d", got, tpm*98/100, tpm+workers*most)
	}
	// Another user of the same team has a bucket of their own.
	if err := rs[0].Admit(ctx, team, "carol", "", true); err != nil {
		t.Fatalf("carol: %v", err)
	}
}

// The limits of the team, the user and the key are all checked; a refusal
// by one gives back the request the others had counted.
func TestEveryScopeCounts(t *testing.T) {
	keyID := "00000000-0000-4000-8000-0000000000aa"
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(10)},
		[]tenants.UserLimits{{Subject: "alice", Limits: tenants.Limits{RPM: limit(5)}}},
		[]tenants.KeyLimits{{KeyID: keyID, Limits: tenants.Limits{RPM: limit(2)}}}))
	l := replicas(t, 1, team)[0]
	ctx := context.Background()
	for i := range 2 {
		if err := l.Admit(ctx, team, "alice", keyID, true); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	var r *Refusal
	if err := l.Admit(ctx, team, "alice", keyID, true); !errors.As(err, &r) || r.Field != "key.rpm" {
		t.Fatalf("third request with the key: %v", err)
	}
	// Without the key: alice has 3 left of her 5.
	for i := range 3 {
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatalf("alice without key, request %d: %v", i, err)
		}
	}
	if err := l.Admit(ctx, team, "alice", "", true); !errors.As(err, &r) || r.Field != "user.rpm" {
		t.Fatalf("alice's sixth: %v", err)
	}
	// The team had 5 requests counted (the refused ones gave theirs back):
	// bob, unlimited himself, has 5 left.
	for i := range 5 {
		if err := l.Admit(ctx, team, "bob", "", true); err != nil {
			t.Fatalf("bob %d: %v", i, err)
		}
	}
	if err := l.Admit(ctx, team, "bob", "", true); !errors.As(err, &r) || r.Field != "team.rpm" {
		t.Fatalf("bob's sixth: %v", err)
	}
}

// A limit of zero blocks, without asking Postgres.
func TestZeroBlocks(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{TokensPerDay: limit(0)}, nil, nil))
	l := replicas(t, 1, team)[0]
	var r *Refusal
	if err := l.Admit(context.Background(), team, "alice", "", true); !errors.As(err, &r) || r.Field != "team.tokens_per_day" {
		t.Fatalf("admit under a zero limit: %v", err)
	}
	if l.Stats().Leases != 0 {
		t.Fatal("a zero limit asked Postgres")
	}
	if r.Window != 24*time.Hour || r.RetryAfter != 13*time.Hour+29*time.Minute+30*time.Second {
		t.Fatalf("window %v, retry after %v", r.Window, r.RetryAfter)
	}
}

// A team with no quotas costs nothing: no buckets, no leases.
func TestNoQuotasNoWork(t *testing.T) {
	team := teamWith(nil)
	l := replicas(t, 1, team)[0]
	for range 100 {
		if err := l.Admit(context.Background(), team, "alice", "", true); err != nil {
			t.Fatal(err)
		}
	}
	l.Measure(attach.Usage{TeamID: teamID, User: "alice", PromptTokens: 10})
	n := 0
	n = len(l.all())
	if n != 0 || l.Stats().Leases != 0 {
		t.Fatalf("%d buckets, %d leases for a team without quotas", n, l.Stats().Leases)
	}
}

// Side-car mode's MAX_TOKENS_PER_MIN limits each user of the default team.
func TestDefaultTeamUserTPM(t *testing.T) {
	team := teamWith(nil)
	pool := pgtest.New(t)
	l := New(Config{DB: pool, Now: clock, DefaultTeam: "lab", UserTPM: 1000,
		Team: func(string) (*tenants.Snapshot, bool) { return team, true }})
	ctx := context.Background()
	if err := l.Admit(ctx, team, "alice", "", true); err != nil {
		t.Fatal(err)
	}
	l.Measure(attach.Usage{TeamID: teamID, User: "alice", PromptTokens: 600, CompletionTokens: 400})
	waitSettled(t, l)
	var r *Refusal
	if err := l.Admit(ctx, team, "alice", "", true); !errors.As(err, &r) || r.Field != "user.tpm" || r.Limit != 1000 {
		t.Fatalf("alice after 1000 tokens: %v", err)
	}
	if err := l.Admit(ctx, team, "bob", "", true); err != nil {
		t.Fatalf("bob: %v", err)
	}
	// Another team is not the default team: no limit.
	other := tenants.NewSnapshot(attach.Team{ID: "00000000-0000-4000-8000-000000000002", Slug: "other"}, nil, nil, nil, nil, 1)
	if err := l.Admit(ctx, other, "alice", "", true); err != nil {
		t.Fatalf("other team: %v", err)
	}
}

// waitSettled waits until no lease is on its way.
func waitSettled(t *testing.T, l *Limiter) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy := false
		for _, b := range l.all() {
			b.mu.Lock()
			busy = busy || b.fetching != nil
			b.mu.Unlock()
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("leases still on their way")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A replica that stops gives its unspent lease back to the window.
func TestCloseGivesLeasesBack(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(800)}, nil, nil))
	dsn := pgtest.NewDSN(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	l := New(Config{DB: pool, Now: clock})
	ctx := context.Background()
	for range 3 {
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatal(err)
		}
	}
	waitSettled(t, l)
	used := func() (n int64) {
		if err := pool.QueryRow(ctx, "SELECT sum(used) FROM quota_counters").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := used(); n < 100 {
		t.Fatalf("counter %d after the first lease, want an eighth of 800 or more", n)
	}
	l.Close(ctx)
	if n := used(); n != 3 {
		t.Fatalf("counter %d after close, want the 3 requests spent", n)
	}
}

// Raising a limit that was reached lets requests through again.
func TestRaisedLimitApplies(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(1)}, nil, nil))
	l := replicas(t, 1, team)[0]
	ctx := context.Background()
	if err := l.Admit(ctx, team, "a", "", true); err != nil {
		t.Fatal(err)
	}
	if err := l.Admit(ctx, team, "a", "", true); err == nil {
		t.Fatal("second request under a limit of 1 admitted")
	}
	raised := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(2)}, nil, nil))
	if err := l.Admit(ctx, raised, "a", "", true); err != nil {
		t.Fatalf("after raising the limit to 2: %v", err)
	}
	if err := l.Admit(ctx, raised, "a", "", true); err == nil {
		t.Fatal("third request under a limit of 2 admitted")
	}
}

// blackHole accepts connections and never answers: a Postgres that hangs.
// stop closes it and the connections it holds.
func blackHole(t *testing.T) (dsn string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	stop = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(stop)
	return "postgres://attach@" + ln.Addr().String() + "/attach?sslmode=disable&connect_timeout=30", stop
}

// When Postgres hangs, a request waits no longer than the budget and is
// decided on the replica's own count: admitted up to the limit, refused
// past it. The hosted gateway fails open to per-replica limits.
func TestPostgresOutageFallsBackToLocalCounts(t *testing.T) {
	dsn, stop := blackHole(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	defer stop() // before the pool closes, so its connection attempt ends
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(3)}, nil, nil))
	l := New(Config{DB: pool, Now: clock, Budget: 20 * time.Millisecond, FetchTimeout: time.Minute})
	ctx := context.Background()
	start := time.Now()
	for i := range 3 {
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatalf("request %d while postgres hangs: %v", i, err)
		}
	}
	var r *Refusal
	if err := l.Admit(ctx, team, "alice", "", true); !errors.As(err, &r) {
		t.Fatalf("fourth request past the local count: %v", err)
	}
	// Each request waited for the one lease on its way, never for the
	// statement's own timeout (a minute).
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Fatalf("requests waited %v for a hanging postgres", elapsed)
	}
	if l.Stats().Local != 4 || l.Stats().Leases != 1 {
		t.Fatalf("stats %+v: want 4 decided locally, 1 lease asked for", l.Stats())
	}
}

// When Postgres refuses connections, the replica stops asking for the
// retry period and keeps to its own counts.
func TestPostgresDownFallsBackToLocalCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	pool, err := pgxpool.New(context.Background(), "postgres://attach@"+addr+"/attach?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(2)}, nil, nil))
	l := New(Config{DB: pool, Now: clock, Budget: 10 * time.Second, Retry: time.Hour})
	ctx := context.Background()
	for i := range 2 {
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatalf("request %d with postgres down: %v", i, err)
		}
	}
	if err := l.Admit(ctx, team, "alice", "", true); err == nil {
		t.Fatal("third request past the local count admitted")
	}
	if s := l.Stats(); s.Leases != 1 || s.Local != 3 {
		t.Fatalf("stats %+v: want postgres asked once within the retry period, 3 requests decided locally", s)
	}
}

// A replica that stops getting requests gives its lease back after a
// while, and a replica that found the window spent asks again later: the
// load moving from one replica to another does not lose allowance.
func TestIdleLeasesGoToBusyReplicas(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{RPM: limit(80)}, nil, nil))
	rs := replicas(t, 2, team)
	for _, r := range rs {
		r.cfg.Recheck = time.Nanosecond // ask again at once once spent
	}
	a, b := rs[0], rs[1]
	ctx := context.Background()
	if err := a.Admit(ctx, team, "alice", "", true); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a)
	admitted := 0
	for range 100 {
		if b.Admit(ctx, team, "alice", "", true) == nil {
			admitted++
		}
		waitSettled(t, b)
	}
	if s := b.Stats(); s.Local > 0 {
		t.Fatalf("b decided %d requests without Postgres", s.Local)
	}
	held := 80 - 1 - admitted
	if held <= 0 {
		t.Fatalf("replica a holds nothing (b admitted %d): the test shows nothing", admitted)
	}
	a.returnIdle(ctx) // as Run does once the lease has been idle IdleReturn
	for range 100 {
		if b.Admit(ctx, team, "alice", "", true) == nil {
			admitted++
		}
		waitSettled(t, b)
	}
	if admitted != 79 {
		t.Fatalf("b admitted %d after a gave its %d back, want 79", admitted, held)
	}
}

// Tokens reserved by requests never measured (failed before the engine)
// go back to the lease within two periods of age; a request that is not
// metered (a model list) reserves nothing.
func TestReservationsAge(t *testing.T) {
	team := teamWith(tenants.NewQuotas(tenants.Limits{TokensPerDay: limit(1_000_000)}, nil, nil))
	l := replicas(t, 1, team)[0]
	ctx := context.Background()
	for range 8 { // the running average climbs towards 100 tokens
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatal(err)
		}
		l.Measure(attach.Usage{TeamID: teamID, User: "alice", PromptTokens: 100})
	}
	waitSettled(t, l)
	b := l.all()[0]
	lease := func() int64 { b.mu.Lock(); defer b.mu.Unlock(); return b.lease }
	before, est := lease(), b.est
	if est < 50 {
		t.Fatalf("running average %d after eight exchanges of 100", est)
	}
	if err := l.Admit(ctx, team, "alice", "", false); err != nil {
		t.Fatal(err)
	}
	if got := lease(); got != before {
		t.Fatalf("an unmetered request took %d tokens", before-got)
	}
	for range 3 {
		if err := l.Admit(ctx, team, "alice", "", true); err != nil {
			t.Fatal(err)
		}
	}
	if got := lease(); got != before-3*est {
		t.Fatalf("lease %d after three reservations of %d, want %d", got, est, before-3*est)
	}
	b.age()
	if got := lease(); got != before-3*est {
		t.Fatal("reservations dropped after one period")
	}
	b.age()
	if got := lease(); got != before {
		t.Fatalf("lease %d after two periods, want the reservations back: %d", got, before)
	}
}
