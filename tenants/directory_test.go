package tenants

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// runDirectory loads a directory over pool and keeps it current through a
// listener until the test ends.
func runDirectory(t *testing.T, pool *pgxpool.Pool, sealer *Sealer, logs *testkit.Buffer) *Directory {
	t.Helper()
	d := NewDirectory(pool, sealer, testLogger(logs))
	l := NewListener(pool, testLogger(logs))
	l.Handle(NotifyChannel, d.Handler())
	testkit.Go(t, l.Run)
	waitFor(t, d, func(d *Directory) bool { return d.Ready() })
	waitListening(t, pool)
	return d
}

func waitFor(t *testing.T, d *Directory, cond func(*Directory) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.WaitFor(ctx, cond); err != nil {
		t.Fatal(err)
	}
}

// listenerPID finds the listener's session in this test's database.
func listenerPID(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var pid int
	err := pool.QueryRow(ctx,
		`SELECT pid FROM pg_stat_activity
		 WHERE application_name = $1 AND datname = current_database() AND query ILIKE 'LISTEN%'`,
		listenerAppName).Scan(&pid)
	return pid, err
}

// waitListening polls until the listener session has run LISTEN, so a change
// made after it is announced to it.
func waitListening(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := testCtx(t)
	for {
		if _, err := listenerPID(ctx, pool); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the listener never started listening")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestDirectoryLoad(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	mustTeam(t, s, "empty")
	is, _ := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "https://idp.example", Audience: "gw"})
	eng, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOpenAI, BaseURL: "http://x", APIKey: ptr("sk-0123456789abcdef"), Default: true})
	if err != nil {
		t.Fatal(err)
	}
	key, token, _ := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"})

	d := NewDirectory(pool, testSealer(t), nil)
	if d.Ready() {
		t.Fatal("ready before loading")
	}
	if _, ok := d.Team("acme"); ok {
		t.Fatal("found a team before loading")
	}
	if err := d.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if !d.Ready() || d.Len() != 2 {
		t.Fatalf("ready %v, %d teams", d.Ready(), d.Len())
	}
	snap, ok := d.Team("acme")
	if !ok || snap.Team.ID != team.ID || len(snap.Issuers) != 1 || snap.Issuers[0].ID != is.ID {
		t.Fatalf("snapshot = %+v", snap)
	}
	e, ok := snap.DefaultEngine()
	if !ok || e.ID != eng.ID || e.APIKey != "sk-0123456789abcdef" {
		t.Fatalf("default engine = %+v, %v", e, ok)
	}
	prefix, _ := attach.ParseAPIKey(token)
	k, ok := snap.APIKey(prefix)
	if !ok || k.ID != key.ID || !k.Matches(token) {
		t.Fatalf("API key lookup = %+v, %v", k, ok)
	}
	byID, ok := d.TeamByID(team.ID)
	if !ok || byID != snap {
		t.Fatal("TeamByID does not return the same snapshot")
	}
	empty, _ := d.Team("empty")
	if empty.Version == snap.Version {
		t.Fatal("two snapshots share a version")
	}
}

func TestDirectoryFollowsChanges(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})
	before, _ := d.Team("acme")

	// Each change goes through its own connection from the store's pool; the
	// directory hears of it only through NOTIFY.
	eng, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", Models: []string{"tiny"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		s, ok := d.Team("acme")
		return ok && len(s.Engines) == 1
	})
	after, _ := d.Team("acme")
	if after.Version <= before.Version {
		t.Fatalf("version went from %d to %d", before.Version, after.Version)
	}
	if len(before.Engines) != 0 {
		t.Fatal("an old snapshot changed in place")
	}

	if _, err := s.UpdateEngine(ctx, team.ID, eng.ID, EngineInput{Name: "e", Dialect: attach.DialectOllama, BaseURL: "http://127.0.0.1:11434", Models: []string{"other"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		s, _ := d.Team("acme")
		_, ok := s.Engine("other")
		return ok && len(s.Engines[0].Models) == 1 && s.Engines[0].Models[0] == "other"
	})

	k, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool { s, _ := d.Team("acme"); _, ok := s.APIKey(k.Prefix); return ok })
	if err := s.RevokeAPIKey(ctx, team.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool {
		s, _ := d.Team("acme")
		got, _ := s.APIKey(k.Prefix)
		return reasonOf(got.Usable(time.Now())) == attach.ReasonKeyRevoked
	})

	// A new slug replaces the old one.
	if _, err := s.UpdateTeam(ctx, "acme", TeamInput{Slug: "acme-2", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool { _, ok := d.Team("acme-2"); return ok })
	if _, ok := d.Team("acme"); ok {
		t.Fatal("old slug still served")
	}

	mustTeam(t, s, "newcomer")
	waitFor(t, d, func(d *Directory) bool { _, ok := d.Team("newcomer"); return ok })

	if err := s.DeleteTeamBySlug(ctx, "acme-2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool { _, ok := d.TeamByID(team.ID); return !ok })
	if d.FullLoads() != 1 {
		t.Fatalf("%d full loads, want 1: changes should reload one team", d.FullLoads())
	}
}

func TestTouchDoesNotReload(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	k, _, _ := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"})
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})
	before, _ := d.Team("acme")
	if err := s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// A change after the touch is the marker: once it is seen, a reload
	// caused by the touch would have been seen too (notices arrive in order).
	mustTeam(t, s, "marker")
	waitFor(t, d, func(d *Directory) bool { _, ok := d.Team("marker"); return ok })
	if after, _ := d.Team("acme"); after != before {
		t.Fatal("recording a key's use reloaded its team")
	}
}

func TestDirectoryReloadsAfterListenerLoss(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	logs := &testkit.Buffer{}
	d := runDirectory(t, pool, testSealer(t), logs)
	loads := d.FullLoads()

	// A change no NOTIFY announces: in replica mode user triggers do not fire.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE teams SET name = 'Silent' WHERE id = $1", team.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "RESET session_replication_role"); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	if snap, _ := d.Team("acme"); snap.Team.Name == "Silent" {
		t.Fatal("the silent change was seen without a reload")
	}

	pid, err := listenerPID(ctx, pool)
	if err != nil {
		t.Fatalf("find listener: %v", err)
	}
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate listener: %v, %v", ok, err)
	}
	waitFor(t, d, func(d *Directory) bool { s, _ := d.Team("acme"); return s.Team.Name == "Silent" })
	if d.FullLoads() <= loads {
		t.Fatal("the change arrived without a full reload")
	}
	if !strings.Contains(logs.String(), "listener lost") {
		t.Fatalf("the reconnection was not logged:\n%s", logs)
	}

	// And the new session listens again.
	waitListening(t, pool)
	mustTeam(t, s, "after")
	waitFor(t, d, func(d *Directory) bool { _, ok := d.Team("after"); return ok })
}

func TestDirectorySkipsUndecryptableKey(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	good, _ := s.CreateEngine(ctx, team.ID, EngineInput{Name: "good", Dialect: attach.DialectOllama, BaseURL: "http://a", APIKey: ptr("sk-good-0123456789")})
	bad, _ := s.CreateEngine(ctx, team.ID, EngineInput{Name: "bad", Dialect: attach.DialectOllama, BaseURL: "http://b", APIKey: ptr("sk-bad-0123456789x")})
	// Move the good engine's ciphertext onto the bad one: the additional data
	// (the engine id) no longer matches.
	if _, err := pool.Exec(ctx, "UPDATE engines SET api_key_enc = (SELECT api_key_enc FROM engines WHERE id = $1) WHERE id = $2", good.ID, bad.ID); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	d := NewDirectory(pool, testSealer(t), testLogger(logs))
	if err := d.Load(ctx); err != nil {
		t.Fatal(err)
	}
	snap, ok := d.Team("acme")
	if !ok || len(snap.Engines) != 2 {
		t.Fatalf("team dropped or engines lost: %+v", snap)
	}
	for _, e := range snap.Engines {
		switch e.Name {
		case "good":
			if e.APIKey != "sk-good-0123456789" {
				t.Errorf("good engine key = %q", e.APIKey)
			}
		case "bad":
			if e.APIKey != "" {
				t.Errorf("bad engine key = %q, want none", e.APIKey)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "engine API key skipped") || !strings.Contains(out, bad.ID) {
		t.Fatalf("missing log about the bad key:\n%s", out)
	}
	if strings.Contains(out, "sk-good") || strings.Contains(out, "sk-bad") {
		t.Fatalf("a secret reached the log:\n%s", out)
	}

	// With another secret key every engine loses its key, not the team.
	other, _ := NewSealer(bytes.Repeat([]byte{9}, SecretKeySize))
	d2 := NewDirectory(pool, other, testLogger(&testkit.Buffer{}))
	if err := d2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if snap, ok := d2.Team("acme"); !ok || len(snap.Engines) != 2 || snap.Engines[0].APIKey != "" {
		t.Fatalf("wrong secret key: %+v", snap)
	}
}

func TestDirectoryConcurrentReads(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if snap, ok := d.Team("acme"); ok {
					_, _ = snap.Engine("m")
				}
			}
		}()
	}
	for i := range 10 {
		if _, err := s.CreateEngine(ctx, team.ID, EngineInput{Name: "e" + string(rune('a'+i)), Dialect: attach.DialectOllama, BaseURL: "http://x"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, d, func(d *Directory) bool { s, _ := d.Team("acme"); return len(s.Engines) == 10 })
	close(stop)
	wg.Wait()
}

func TestEnsureTeam(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	first, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "default"})
	if err != nil || again.ID != first.ID || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("unchanged ensure: %+v, %v", again, err)
	}
	renamed, err := s.EnsureTeam(ctx, TeamInput{Slug: "default", Name: "Default team"})
	if err != nil || renamed.ID != first.ID || renamed.Name != "Default team" {
		t.Fatalf("renaming ensure: %+v, %v", renamed, err)
	}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tm, err := s.EnsureTeam(ctx, TeamInput{Slug: "racy", Name: "Racy"})
			ids[i], errs[i] = tm.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent ensure %d: %s vs %s, %v", i, ids[i], ids[0], errs[i])
		}
	}
	if _, err := s.EnsureTeam(ctx, TeamInput{Slug: "Bad Slug", Name: "x"}); attach.ErrorCode(err) != attach.CodeInvalid {
		t.Fatalf("bad slug: err = %v", err)
	}
}
