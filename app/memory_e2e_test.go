package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

// End-to-end tests of the memory bus: requests go through a running
// gateway to a real engine server, events land in a real Postgres and are
// delivered to a real Weaviate, and callers verified by a real IdP read
// them back through the API.

// Two teams share a gateway and a Weaviate: each sees only its own events,
// through the API and in its Weaviate tenant; a member sees only their own;
// erasing a user removes their events from Postgres and then from Weaviate.
func TestMemoryKeepsTeamsApart(t *testing.T) {
	t.Parallel()
	wv := weaviatetest.Start(t)
	idp := oidctest.Start(t, oidctest.Options{})
	eng := newMemEngine(t)
	cfg := testConfig(t)
	cfg.MemBackend = memory.BackendWeaviate
	cfg.WeaviateURL, cfg.WeaviateGRPC = wv.URL(), wv.GRPCAddr()
	gw := startGateway(t, cfg)
	view := viewWeaviate(t, wv)

	alpha := newMemTeam(t, gw, "alpha", eng.URL(), idp.Issuer())
	beta := newMemTeam(t, gw, "beta", eng.URL(), idp.Issuer())
	alice := memberToken(t, idp, alpha.audience, "alice")
	carol := memberToken(t, idp, alpha.audience, "carol")
	bob := memberToken(t, idp, beta.audience, "bob")

	// Each team's traffic: chats through the proxy, notes through the API.
	aliceSession := sendChat(t, alpha.url, alice, "the alpha launch word is zanzibar")
	aliceNote := addNote(t, alpha.url, alice, "alice remembers the quokka")
	sendChat(t, alpha.url, carol, "carol asks about marmalade")
	sendChat(t, beta.url, bob, "the beta launch word is xylophone")
	bobNote := addNote(t, beta.url, bob, "bob remembers the pangolin")
	pollUntil(t, 30*time.Second, "every event in Postgres", func() bool {
		return countRows(t, gw.pool, countEvents, alpha.id) == 5 && countRows(t, gw.pool, countEvents, beta.id) == 3
	})

	// Through the API, an admin of each team sees exactly the team's events.
	for _, tc := range []struct {
		team    memTeam
		n       int
		users   []string
		foreign []string
	}{
		{alpha, 5, []string{"alice", "carol"}, []string{"xylophone", "pangolin"}},
		{beta, 3, []string{"bob"}, []string{"zanzibar", "quokka", "marmalade"}},
	} {
		list := listEvents(t, tc.team.url, tc.team.adminKey, "")
		if len(list) != tc.n {
			t.Errorf("%s lists %d events, want %d", tc.team.slug, len(list), tc.n)
		}
		for _, e := range list {
			if e.TeamID != tc.team.id || !slices.Contains(tc.users, e.User) {
				t.Errorf("%s lists an event of team %s, user %q", tc.team.slug, e.TeamID, e.User)
			}
			for _, w := range tc.foreign {
				if strings.Contains(e.Content, w) {
					t.Errorf("%s lists the other team's event %q", tc.team.slug, e.Content)
				}
			}
		}
	}

	// Another team's credentials never open a team's memory.
	for _, tc := range []struct{ method, path, token, body string }{
		{"GET", "/mem/events", beta.adminKey, ""},
		{"GET", "/mem/events/" + aliceNote, beta.adminKey, ""},
		{"POST", "/mem/events", beta.adminKey, `{"content":"planted by beta"}`},
		{"DELETE", "/mem/events?user=alice", beta.adminKey, ""},
		{"GET", "/mem/events", bob, ""},
	} {
		resp, body := call(t, tc.method, alpha.url+tc.path, tc.token, tc.body)
		if resp.StatusCode != 401 {
			t.Errorf("%s %s on alpha with a beta credential: %d %s", tc.method, tc.path, resp.StatusCode, body)
		} else {
			errorCode(t, body)
		}
	}
	if resp, body := call(t, "GET", beta.url+"/mem/events/"+aliceNote, beta.adminKey, ""); resp.StatusCode != 404 || errorCode(t, body) != attach.CodeNotFound {
		t.Errorf("alpha's event read through beta: %d %s", resp.StatusCode, body)
	}

	// A member without memory:admin sees only their own events.
	mine := listEvents(t, alpha.url, alice, "")
	if len(mine) != 3 {
		t.Errorf("alice lists %d events, want her 3", len(mine))
	}
	var carolsPrompt string
	for _, e := range mine {
		if e.User != "alice" {
			t.Errorf("alice lists %s's event %q", e.User, e.Content)
		}
		if e.Kind != attach.KindNote && e.Session != aliceSession {
			t.Errorf("alice's %s is in session %q, her chat was in %q", e.Kind, e.Session, aliceSession)
		}
	}
	for _, e := range listEvents(t, alpha.url, alpha.adminKey, "user=carol&kind=prompt") {
		carolsPrompt = e.ID
	}
	if carolsPrompt == "" {
		t.Fatal("the admin does not find carol's prompt")
	}
	if resp, body := call(t, "GET", alpha.url+"/mem/events?user=carol", alice, ""); resp.StatusCode != 403 || errorCode(t, body) != attach.CodeForbidden {
		t.Errorf("alice asking for carol's events: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", alpha.url+"/mem/events/"+carolsPrompt, alice, ""); resp.StatusCode != 404 {
		t.Errorf("alice reading carol's prompt: %d %s", resp.StatusCode, body)
	}

	// In Weaviate each team's tenant holds exactly the team's events.
	for _, tm := range []memTeam{alpha, beta} {
		pollUntil(t, time.Minute, tm.slug+" delivered to weaviate", func() bool {
			return countRows(t, gw.pool, countOutbox, tm.id) == 0
		})
		if d := idSetDiff(pgIDs(t, gw.pool, tm.id), view.ids(t, tm.id)); d != "" {
			t.Errorf("%s's weaviate tenant differs from its events in Postgres: %s", tm.slug, d)
		}
	}
	if got := view.object(t, beta.id, bobNote); got["content"] != "bob remembers the pangolin" || got["teamId"] != beta.id {
		t.Errorf("bob's note in weaviate: %v", got)
	}
	if status := view.objectStatus(t, alpha.id, bobNote); status != 404 {
		t.Errorf("bob's note read from alpha's tenant: status %d, want 404", status)
	}

	// Keyword search (BM25, in Weaviate) finds a distinctive word, within
	// the team and, for a member, within their own events.
	found := listEvents(t, alpha.url, alpha.adminKey, "q=zanzibar")
	if len(found) != 1 || !strings.Contains(found[0].Content, "zanzibar") || found[0].Kind != attach.KindPrompt {
		t.Errorf("search for zanzibar found %v", eventTexts(found))
	}
	for _, tc := range []struct {
		base, token, q string
		want           int
	}{
		{alpha.url, alpha.adminKey, "xylophone", 0}, // beta's word
		{beta.url, beta.adminKey, "zanzibar", 0},
		{beta.url, beta.adminKey, "xylophone", 1},
		{alpha.url, alpha.adminKey, "marmalade", 1},
		{alpha.url, alice, "marmalade", 0}, // carol's word
		{alpha.url, alice, "quokka", 1},
	} {
		if got := listEvents(t, tc.base, tc.token, "q="+tc.q); len(got) != tc.want {
			t.Errorf("search for %s on %s found %v, want %d events", tc.q, tc.base, eventTexts(got), tc.want)
		}
	}

	// Erasure: only an admin may erase another user; the events leave
	// Postgres at once and Weaviate once the worker has run.
	if resp, body := call(t, "DELETE", alpha.url+"/mem/events?user=carol", alice, ""); resp.StatusCode != 403 || errorCode(t, body) != attach.CodeForbidden {
		t.Errorf("alice erasing carol: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "DELETE", alpha.url+"/mem/events?user=carol", alpha.adminKey, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"deleted":2`) {
		t.Fatalf("admin erasing carol: %d %s", resp.StatusCode, body)
	}
	if left := listEvents(t, alpha.url, alpha.adminKey, "user=carol"); len(left) != 0 {
		t.Errorf("carol's events still listed after erasure: %v", eventTexts(left))
	}
	pollUntil(t, time.Minute, "carol's erasure done in weaviate", func() bool {
		return countRows(t, gw.pool, countErasures, alpha.id) == 0
	})
	remaining := pgIDs(t, gw.pool, alpha.id)
	if len(remaining) != 3 {
		t.Errorf("alpha holds %d events after erasing carol, want 3", len(remaining))
	}
	if d := idSetDiff(remaining, view.ids(t, alpha.id)); d != "" {
		t.Errorf("alpha's weaviate tenant after erasing carol: %s", d)
	}
	if status := view.objectStatus(t, alpha.id, carolsPrompt); status != 404 {
		t.Errorf("carol's prompt still in weaviate: status %d", status)
	}
	if got := listEvents(t, alpha.url, alpha.adminKey, "q=marmalade"); len(got) != 0 {
		t.Errorf("search still finds carol's prompt: %v", eventTexts(got))
	}
	if n := view.count(t, beta.id); n != 3 {
		t.Errorf("beta's tenant holds %d events after alpha erased a user, want 3", n)
	}

	// Deleting a team erases its memory everywhere: its rows at once, its
	// Weaviate tenant once the worker has run. The other team keeps its own.
	if status := view.tenantStatus(t, alpha.id); status != 200 {
		t.Fatalf("alpha's tenant before the team is deleted: status %d", status)
	}
	adminClient(t, gw).do("DELETE", "/teams/alpha", "", 204)
	for name, q := range map[string]string{"events": countEvents, "outbox rows": countOutbox} {
		if n := countRows(t, gw.pool, q, alpha.id); n != 0 {
			t.Errorf("%d %s of alpha left after the team was deleted", n, name)
		}
	}
	pollUntil(t, time.Minute, "alpha's tenant dropped from weaviate", func() bool {
		return view.tenantStatus(t, alpha.id) == 404 && countRows(t, gw.pool, countErasures, alpha.id) == 0
	})
	if n := view.count(t, beta.id); n != 3 {
		t.Errorf("beta's tenant holds %d events after alpha was deleted, want 3", n)
	}
	if got := listEvents(t, beta.url, beta.adminKey, "q=xylophone"); len(got) != 1 {
		t.Errorf("beta's search after alpha was deleted found %v", eventTexts(got))
	}
}

// A streamed answer, Ollama NDJSON or OpenAI SSE, is remembered as one
// response event holding the whole answer, linked to its prompt, in the
// session the client was told.
func TestMemoryStreamedAnswerIsOneEvent(t *testing.T) {
	t.Parallel()
	eng := newMemEngine(t)
	cfg := testConfig(t)
	cfg.EngineURL = eng.URL()
	gw := startGateway(t, cfg)
	key := memKey(t, gw, "default")

	cases := []struct {
		name, path, body, agent string
		prompt                  string
		chunk                   string // how each chunk line the client reads starts
	}{
		{
			"ollama ndjson", "/api/chat",
			`{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"stream an ollama answer"}]}`,
			"ollama-js/0.5", "stream an ollama answer", `{"model"`,
		},
		{
			"openai sse", "/v1/chat/completions",
			`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"stream an openai answer"}]}`,
			"openai-node/4.0", "stream an openai answer", "data: {",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", gw.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", tc.agent)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			session := resp.Header.Get("X-Attach-Session-Id")
			if resp.StatusCode != 200 || session == "" {
				t.Fatalf("status %d, session %q", resp.StatusCode, session)
			}
			chunks := 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), tc.chunk) {
					chunks++
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("read stream: %v", err)
			}
			if chunks <= len(engineWords) {
				t.Fatalf("the client read %d chunks, want the engine's %d and a last one", chunks, len(engineWords))
			}

			var events []attach.Event
			pollUntil(t, 10*time.Second, "the exchange in memory", func() bool {
				events = listEvents(t, gw.URL, key, "session="+url.QueryEscape(session))
				return len(events) >= 2
			})
			if len(events) != 2 {
				t.Fatalf("session %s holds %d events, want a prompt and one response: %v", session, len(events), eventTexts(events))
			}
			// Newest first: the response, then its prompt.
			answer, prompt := events[0], events[1]
			if prompt.Kind != attach.KindPrompt || prompt.Content != tc.prompt || prompt.Role != "user" {
				t.Errorf("prompt event: %+v", prompt)
			}
			if answer.Kind != attach.KindResponse || answer.Content != engineAnswer || answer.Role != "assistant" || answer.Truncated {
				t.Errorf("response event: kind %s role %q truncated %v content %q, want the whole answer %q",
					answer.Kind, answer.Role, answer.Truncated, answer.Content, engineAnswer)
			}
			if got := metaString(t, answer, "prompt_id"); got != prompt.ID {
				t.Errorf("response links to prompt %q, want %s", got, prompt.ID)
			}
			for _, e := range events {
				if e.Session != session || e.Model != "tiny" {
					t.Errorf("%s event has session %q model %q, want %q tiny", e.Kind, e.Session, e.Model, session)
				}
			}
			if got := getEvent(t, gw.URL, key, answer.ID); got.Content != engineAnswer {
				t.Errorf("GET /mem/events/%s: content %q", answer.ID, got.Content)
			}
		})
	}
	// Nothing else was recorded: no event per chunk.
	if n := countRows(t, gw.pool, countEvents, defaultTeamID(t, gw)); n != 2*len(cases) {
		t.Errorf("the team holds %d events, want %d", n, 2*len(cases))
	}
}

// 5,000 chat requests from 16 clients while Weaviate is stopped from 20% to
// 60% of them: every request succeeds, and in the end Weaviate holds each
// of the 10,000 events exactly once and nothing waits in the outbox. Over
// REST (the default) a batch fails at once while Weaviate is away and is
// retried with backoff; over gRPC it waits, within its deadline, for the
// connection to come back.
func TestMemoryDeliverySurvivesWeaviateOutage(t *testing.T) {
	t.Run("rest", func(t *testing.T) { weaviateOutage(t, false) })
	t.Run("grpc", func(t *testing.T) { weaviateOutage(t, true) })
}

func weaviateOutage(t *testing.T, grpc bool) {
	const requests, clients = 5000, 16
	const stopAt, restartAt = requests / 5, requests * 3 / 5
	wv := weaviatetest.Start(t)
	eng := newMemEngine(t)
	cfg := weaviateConfig(t, wv, eng)
	if grpc {
		cfg.WeaviateGRPC = wv.GRPCAddr()
	}
	gw := startGateway(t, cfg)
	view := viewWeaviate(t, wv)
	key := memKey(t, gw, "default")
	team := defaultTeamID(t, gw)

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients},
		Timeout:   time.Minute,
	}
	t.Cleanup(client.CloseIdleConnections)

	var (
		next      atomic.Int64
		failures  atomic.Int64
		errMu     sync.Mutex
		firstErrs []string
	)
	// Requests from restartAt on wait until Weaviate is down, so the outage
	// really covers 20% to 60% of the run however fast requests go.
	reachedStop, reachedRestart, stopped := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var stoppedOnce sync.Once
	markStopped := func() { stoppedOnce.Do(func() { close(stopped) }) }
	defer markStopped() // a failed Stop must not strand the clients
	var wg sync.WaitGroup
	began := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				if i == stopAt {
					close(reachedStop)
				}
				if i >= restartAt {
					<-stopped
					if i == restartAt {
						close(reachedRestart)
					}
				}
				if err := loadChat(client, gw.URL, key, i); err != nil {
					failures.Add(1)
					errMu.Lock()
					if len(firstErrs) < 5 {
						firstErrs = append(firstErrs, err.Error())
					}
					errMu.Unlock()
				}
			}
		})
	}

	<-reachedStop
	wv.Stop(t)
	stoppedAt := time.Now()
	markStopped()
	<-reachedRestart
	// The outage was seen: events recorded since Weaviate stopped wait in
	// the outbox, and over REST their deliveries have failed.
	pollUntil(t, time.Minute, "undelivered events in the outbox", func() bool {
		if grpc {
			return countRows(t, gw.pool, countOutbox, team) > 0
		}
		return countRows(t, gw.pool, countFailed, team) > 0
	})
	backlog, attempts, newest := outboxState(t, gw.pool, team)
	wv.Start(t)
	restartedAt := time.Now()
	// Requests keep coming meanwhile: time what waited at the restart.
	pollUntil(t, 3*time.Minute, "the outage's backlog delivered", func() bool {
		var n int
		err := gw.pool.QueryRow(context.Background(), `SELECT count(*) FROM memory_outbox
			WHERE team_id = $1 AND created_at <= $2`, team, newest).Scan(&n)
		if err != nil {
			t.Fatalf("read the outbox: %v", err)
		}
		return n == 0
	})
	caughtUp := time.Since(restartedAt)
	wg.Wait()
	lastAnswer := time.Now()
	sent := lastAnswer.Sub(began)
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, requests, firstErrs)
	}

	pollUntil(t, time.Minute, "every event in Postgres", func() bool {
		return countRows(t, gw.pool, countEvents, team) == 2*requests
	})
	pollUntil(t, 3*time.Minute, "the outbox drained", func() bool {
		return countRows(t, gw.pool, countOutbox, team) == 0
	})
	drained := time.Since(lastAnswer)

	stored := pgIDs(t, gw.pool, team)
	if len(stored) != 2*requests {
		t.Fatalf("Postgres holds %d events, want %d", len(stored), 2*requests)
	}
	if d := idSetDiff(stored, view.ids(t, team)); d != "" {
		t.Fatalf("weaviate differs from Postgres: %s", d)
	}
	if n := view.count(t, team); n != 2*requests {
		t.Fatalf("weaviate counts %d events, want %d", n, 2*requests)
	}
	t.Logf("%d requests from %d clients in %s (%.0f/s); weaviate down %s; "+
		"the %d events waiting at the restart (tried up to %d times) delivered %s after it; "+
		"outbox empty %s after the last answer",
		requests, clients, sent.Round(time.Millisecond), float64(requests)/sent.Seconds(),
		restartedAt.Sub(stoppedAt).Round(time.Millisecond),
		backlog, attempts, caughtUp.Round(time.Millisecond), drained.Round(time.Millisecond))
}

// outboxState is how many of the team's events wait for delivery, the
// most times one of them was tried, and when the newest was queued.
func outboxState(t *testing.T, pool *pgxpool.Pool, teamID string) (waiting, attempts int, newest time.Time) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(max(attempts), 0), coalesce(max(created_at), now())
		FROM memory_outbox WHERE team_id = $1`, teamID).Scan(&waiting, &attempts, &newest)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	return waiting, attempts, newest
}

// loadChat sends request i of a load test: a non-streamed chat that must
// be answered 200 with the engine's answer.
func loadChat(client *http.Client, base, key string, i int) error {
	body := fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"load request %d"}],"stream":false}`, i)
	req, err := http.NewRequest("POST", base+"/api/chat", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("request %d: %w", i, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("request %d: read answer: %w", i, err)
	}
	if resp.StatusCode != 200 || !bytes.Contains(out, []byte(engineAnswer)) {
		return fmt.Errorf("request %d: %d %s", i, resp.StatusCode, out)
	}
	return nil
}

// Secrets in a prompt reach the engine as sent but are stored redacted, in
// Postgres and in Weaviate, and cannot be found by search.
func TestMemoryRedactsSecretsThroughTheGateway(t *testing.T) {
	t.Parallel()
	wv := weaviatetest.Start(t)
	eng := newMemEngine(t)
	cfg := testConfig(t)
	cfg.WeaviateURL = wv.URL() // the install's default stays Postgres
	gw := startGateway(t, cfg)
	view := viewWeaviate(t, wv)
	team := newMemTeam(t, gw, "vault", eng.URL(), "")
	// This team chose Weaviate for itself.
	if _, err := gw.mem.store.SetSettings(context.Background(), team.id, memory.TeamSettings{Backend: memory.BackendWeaviate}); err != nil {
		t.Fatalf("choose weaviate for the team: %v", err)
	}
	// The choice reaches the recorder through the team directory.
	pollUntil(t, 10*time.Second, "the directory to see the team's backend", func() bool {
		s, ok := gw.dir.TeamByID(team.id)
		return ok && s.Memory.Backend == memory.BackendWeaviate
	})

	const bearer = "mF_9.B5f-4.1JqM0a9b8c7d6e5f"
	const openAIKey = "sk-proj-Q7x2LmN9pR4sT6vW8yZ0aB3c"
	secrets := secretSet{"bearer token": bearer, "OpenAI key": openAIKey, "gateway key": team.adminKey, "password": "hunter2-Secret"}
	prompt := fmt.Sprintf("run curl -H 'Authorization: Bearer %s' with my gateway key %s and the key %s, then summarise", bearer, team.adminKey, openAIKey)
	sendChat(t, team.url, team.adminKey, prompt)
	if got := secrets.found(eng.lastBody()); len(got) != 3 {
		t.Errorf("the engine got the prompt with %v, want it as sent, with the bearer token and both keys", got)
	}
	addNote(t, team.url, team.adminKey, "deploy with password=hunter2-Secret and Bearer "+bearer)
	pollUntil(t, 10*time.Second, "the events in Postgres", func() bool {
		return countRows(t, gw.pool, countEvents, team.id) == 3
	})

	events := listEvents(t, team.url, team.adminKey, "")
	var stored attach.Event
	for _, e := range events {
		if e.Kind == attach.KindPrompt {
			stored = e
		}
		if got := secrets.found(e.Content); len(got) > 0 {
			t.Errorf("the %s event keeps %v: %q", e.Kind, got, secrets.mask(e.Content))
		}
	}
	if n := strings.Count(stored.Content, memory.Redacted); n != 3 || !strings.Contains(stored.Content, "then summarise") {
		t.Errorf("stored prompt %q: want its 3 secrets replaced by %s and the rest kept", secrets.mask(stored.Content), memory.Redacted)
	}

	pollUntil(t, time.Minute, "delivery to weaviate", func() bool {
		return countRows(t, gw.pool, countOutbox, team.id) == 0
	})
	if n := view.count(t, team.id); n != len(events) {
		t.Fatalf("weaviate holds %d events, want %d", n, len(events))
	}
	for _, e := range events {
		content, _ := view.object(t, team.id, e.ID)["content"].(string)
		if content != e.Content {
			t.Errorf("weaviate holds %q for %s event, Postgres %q", secrets.mask(content), e.Kind, secrets.mask(e.Content))
		}
		if got := secrets.found(content); len(got) > 0 {
			t.Errorf("weaviate keeps %v in the %s event", got, e.Kind)
		}
	}
	if got := listEvents(t, team.url, team.adminKey, "q=summarise"); len(got) != 1 {
		t.Errorf("search for summarise found %d events, want the prompt", len(got))
	}
	if got := listEvents(t, team.url, team.adminKey, "q=Q7x2LmN9pR4sT6vW8yZ0aB3c"); len(got) != 0 {
		t.Errorf("search for the redacted OpenAI key found %d events", len(got))
	}
}

// secretSet names the secrets a test plants, so that failures can say
// which leaked without printing them.
type secretSet map[string]string

// found names the secrets text holds, sorted.
func (s secretSet) found(text string) []string {
	var names []string
	for name, secret := range s {
		if strings.Contains(text, secret) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// mask replaces each secret in text by its name.
func (s secretSet) mask(text string) string {
	for name, secret := range s {
		text = strings.ReplaceAll(text, secret, "<"+name+">")
	}
	return text
}

// Exchanges answered just before Shutdown, and streams still running when
// it begins, are all in Postgres once Shutdown returns, even when their
// writes are still waiting when Shutdown begins.
func TestMemoryShutdownKeepsAnsweredExchanges(t *testing.T) {
	t.Parallel()
	const held, clients = 3, 8
	waves := []int{100, 50, 50} // requests answered before Shutdown
	eng := newMemEngine(t)
	cfg := testConfig(t)
	cfg.EngineURL = eng.URL()
	ln := listenLoopback(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("start gateway: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	shutdown := make(chan error, 1)
	var shutOnce sync.Once
	stop := func() {
		shutOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			shutdown <- a.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	gw := &gateway{App: a, URL: "http://" + ln.Addr().String()}
	key := memKey(t, gw, "default")
	team := defaultTeamID(t, gw)

	// Hold the recorder's writes back: a SHARE lock on memory_events lets
	// reads through and makes every insert wait.
	lockConn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lockConn.Close(context.Background())
	lock, err := lockConn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, "LOCK TABLE memory_events IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}

	// Streams the engine holds after their first chunk.
	release := eng.holdStreams()
	defer release()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	readers := make([]*bufio.Reader, held)
	for i := range readers {
		body := fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"held stream %d"}]}`, i)
		req, _ := http.NewRequest("POST", gw.URL+"/api/chat", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("held stream %d: status %d", i, resp.StatusCode)
		}
		readers[i] = bufio.NewReader(resp.Body)
		if first := readLine(t, readers[i]); !strings.Contains(first, engineWords[0]) {
			t.Fatalf("held stream %d began with %q", i, first)
		}
	}

	// Requests answered just before Shutdown, in waves: the first two
	// occupy the recorder's writers (each waits on the lock), so the last
	// is still queued inside the gateway when Shutdown begins.
	answered := 0
	for w, n := range waves {
		var wg sync.WaitGroup
		var next, failures atomic.Int64
		for range clients {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := loadChat(client, gw.URL, key, answered+i); err != nil {
						failures.Add(1)
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if failures.Load() > 0 {
			t.FailNow()
		}
		answered += n
		if w < 2 {
			pollUntil(t, 10*time.Second, fmt.Sprintf("%d writes waiting on the lock", w+1), func() bool {
				return lockWaiters(t, lockConn) >= w+1
			})
		}
	}
	if n := countRows(t, gw.pool, countEvents, team); n != 0 {
		t.Fatalf("%d events written through the lock", n)
	}

	go stop()
	// Shutdown has begun once the gateway takes no new connections.
	pollUntil(t, 10*time.Second, "the gateway to stop listening", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// Postgres ends the locking session a second after this statement,
	// which releases the lock at a moment the test does not choose:
	// Shutdown must wait for the writes however long that takes.
	if _, err := lock.Exec(ctx, "SET idle_in_transaction_session_timeout = '1s'"); err != nil {
		t.Fatal(err)
	}
	release()
	for i, r := range readers {
		rest, err := io.ReadAll(r)
		if err != nil || !strings.Contains(string(rest), `"done":true`) {
			t.Errorf("held stream %d did not finish during shutdown: %v %q", i, err, rest)
		}
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}

	pool, err := pgxpool.New(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if n := countRows(t, pool, countEvents, team); n != 2*(answered+held) {
		t.Errorf("Postgres holds %d events after shutdown, want %d", n, 2*(answered+held))
	}
	var whole int
	err = pool.QueryRow(context.Background(), `SELECT count(*) FROM memory_events
		WHERE team_id = $1 AND kind = 'response' AND content = $2`, team, engineAnswer).Scan(&whole)
	if err != nil {
		t.Fatal(err)
	}
	if whole != answered+held {
		t.Errorf("%d whole answers stored, want %d", whole, answered+held)
	}
}

// lockWaiters counts the sessions of the database waiting for a lock.
func lockWaiters(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
	if err != nil {
		t.Fatalf("count lock waiters: %v", err)
	}
	return n
}

// A gateway started with ATTACH_MEM_WORKER=false stores events and
// delivers none; a worker of its own, as `attach worker` runs, delivers
// them, and what arrives later.
func TestMemoryWorkerRunsApartFromTheGateway(t *testing.T) {
	t.Parallel()
	const n = 20
	wv := weaviatetest.Start(t)
	eng := newMemEngine(t)
	cfg := weaviateConfig(t, wv, eng)
	cfg.MemWorker = false
	gw := startGateway(t, cfg)
	view := viewWeaviate(t, wv)
	key := memKey(t, gw, "default")
	team := defaultTeamID(t, gw)

	for i := range n {
		sendChat(t, gw.URL, key, fmt.Sprintf("worker prompt %d", i))
	}
	pollUntil(t, 10*time.Second, "the events in Postgres", func() bool {
		return countRows(t, gw.pool, countEvents, team) == 2*n
	})
	if gw.mem.worker != nil {
		t.Error("the gateway made a delivery worker with MemWorker off")
	}
	pollUntil(t, 10*time.Second, "the gateway's one listener", func() bool { return listenerSessions(t, gw.pool) == 1 })
	if q := countRows(t, gw.pool, countOutbox, team); q != 2*n {
		t.Errorf("%d events wait for delivery, want all %d", q, 2*n)
	}
	if c := view.count(t, team); c != 0 {
		t.Errorf("weaviate holds %d events before any worker ran", c)
	}
	// The gateway delivers nothing, and still reports what waits.
	if _, body := call(t, "GET", gw.URL+"/metrics", "", ""); !strings.Contains(body, fmt.Sprintf("\nattach_memory_outbox_pending %d\n", 2*n)) {
		t.Errorf("the gateway's metrics lack the outbox depth %d: %s", 2*n, grepLines(body, "attach_memory_outbox_pending"))
	}

	// The worker process, as `attach worker` runs it, with its own pool.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var running sync.WaitGroup
	var runErr error
	ln := listenLoopback(t)
	workerURL := "http://" + ln.Addr().String()
	running.Go(func() { runErr = RunWorker(ctx, cfg, pool, ln, slog.New(slog.NewJSONHandler(io.Discard, nil))) })
	stopWorker := sync.OnceFunc(func() {
		cancel()
		running.Wait()
	})
	defer stopWorker()
	began := time.Now()
	pollUntil(t, time.Minute, "the worker to deliver", func() bool {
		return countRows(t, gw.pool, countOutbox, team) == 0
	})
	t.Logf("the worker delivered %d events in %s", 2*n, time.Since(began).Round(time.Millisecond))
	if d := idSetDiff(pgIDs(t, gw.pool, team), view.ids(t, team)); d != "" {
		t.Errorf("weaviate after the worker ran: %s", d)
	}
	pollUntil(t, 10*time.Second, "the worker listening", func() bool { return listenerSessions(t, gw.pool) == 2 })

	// What the gateway records next reaches Weaviate through the worker.
	sendChat(t, gw.URL, key, "one more prompt")
	pollUntil(t, 30*time.Second, "the next exchange delivered", func() bool {
		return countRows(t, gw.pool, countEvents, team) == 2*n+2 && countRows(t, gw.pool, countOutbox, team) == 0
	})
	if c := view.count(t, team); c != 2*n+2 {
		t.Errorf("weaviate holds %d events, want %d", c, 2*n+2)
	}

	// The worker serves its health and its metrics; it counts a delivery
	// just after committing it.
	if resp, body := call(t, "GET", workerURL+"/healthz", "", ""); resp.StatusCode != 200 || body != `{"status":"ok"}` {
		t.Errorf("worker healthz %d %s", resp.StatusCode, body)
	}
	delivered := fmt.Sprintf("\nattach_memory_delivered_total{sink=\"weaviate\"} %d\n", 2*n+2)
	var body string
	pollUntil(t, 10*time.Second, "the worker's metrics", func() bool {
		_, body = call(t, "GET", workerURL+"/metrics", "", "")
		return strings.Contains(body, delivered)
	})
	for _, want := range []string{"\nattach_memory_outbox_pending 0\n", "\ngo_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("the worker's metrics lack %q", want)
		}
	}

	stopWorker()
	if runErr != nil {
		t.Errorf("RunWorker: %v", runErr)
	}
}

// eventTexts lists events' texts, for failure messages.
func eventTexts(events []attach.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Kind + ": " + e.Content
	}
	return out
}
