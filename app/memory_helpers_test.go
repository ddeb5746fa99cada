package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviate"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

// Helpers for the memory bus's end-to-end tests: an engine that answers
// both dialects in several chunks, teams with keys, and views of what
// Postgres and Weaviate hold.

// engineWords are the chunks of every streamed answer of memEngine; joined,
// they are engineAnswer.
var engineWords = []string{"Memory ", "keeps ", "every ", "word."}

const engineAnswer = "Memory keeps every word."

// memEngine is a real HTTP server on loopback that answers chat in both
// dialects: Ollama (/api/chat, NDJSON when streaming) and OpenAI
// (/v1/chat/completions, SSE when streaming), each stream in several
// chunks. It does no more work than that, so a load test measures the
// gateway.
type memEngine struct {
	srv *httptest.Server

	mu   sync.Mutex
	last []byte // the last request body
	// hold, when set, keeps each stream waiting after its first chunk
	// until it is closed.
	hold chan struct{}
}

func newMemEngine(t *testing.T) *memEngine {
	t.Helper()
	e := &memEngine{}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *memEngine) URL() string { return e.srv.URL }

// lastBody is the body of the last request the engine received.
func (e *memEngine) lastBody() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return string(e.last)
}

// weaviateConfig is a test gateway's configuration with eng as its engine
// and memory kept in wv, reached over REST.
func weaviateConfig(t *testing.T, wv *weaviatetest.Server, eng *memEngine) Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.EngineURL = eng.URL()
	cfg.MemBackend = memory.BackendWeaviate
	cfg.WeaviateURL = wv.URL()
	return cfg
}

// holdStreams makes streams wait after their first chunk until release.
func (e *memEngine) holdStreams() (release func()) {
	ch := make(chan struct{})
	e.mu.Lock()
	e.hold = ch
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			e.hold = nil
			e.mu.Unlock()
			close(ch)
		})
	}
}

func (e *memEngine) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, `{"error":"cannot read body"}`, http.StatusBadRequest)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream *bool  `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":"not JSON"}`, http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.last = body
	hold := e.hold
	e.mu.Unlock()

	model, _ := json.Marshal(req.Model)
	switch r.URL.Path {
	case "/api/chat":
		// Ollama streams unless told not to.
		if req.Stream != nil && !*req.Stream {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			fmt.Fprintf(w, `{"model":%s,"created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":%q},"done":true,"done_reason":"stop"}`, model, engineAnswer)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		e.stream(w, r, hold, func(word string) string {
			return fmt.Sprintf(`{"model":%s,"created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":%q},"done":false}`+"\n", model, word)
		}, fmt.Sprintf(`{"model":%s,"created_at":"2026-11-25T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":4}`+"\n", model))
	case "/v1/chat/completions":
		// OpenAI streams only when asked.
		if req.Stream == nil || !*req.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","model":%s,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}]}`, model, engineAnswer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		first := true
		e.stream(w, r, hold, func(word string) string {
			role := ""
			if first {
				role, first = `"role":"assistant",`, false
			}
			return fmt.Sprintf(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":%s,"choices":[{"index":0,"delta":{%s"content":%q},"finish_reason":null}]}`+"\n\n", model, role, word)
		}, fmt.Sprintf(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":%s,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n", model))
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

// stream writes one chunk per word, flushing each, then the last chunk.
func (e *memEngine) stream(w http.ResponseWriter, r *http.Request, hold chan struct{}, chunk func(string) string, last string) {
	f := w.(http.Flusher)
	for i, word := range engineWords {
		io.WriteString(w, chunk(word))
		f.Flush()
		if i == 0 && hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
	}
	io.WriteString(w, last)
	f.Flush()
}

// memTeam is a team made through the management API, with an engine, its
// own audience at the test's IdP, and an API key holding memory:admin.
type memTeam struct {
	slug, id string
	url      string // the team's hosted URL: gateway/t/slug
	audience string
	adminKey string
}

// newMemTeam makes a team whose default engine is engineURL and which
// trusts issuer (when not "") for audience api://slug, and waits until
// the request path knows it and its key.
func newMemTeam(t *testing.T, gw *gateway, slug, engineURL, issuer string) memTeam {
	t.Helper()
	admin := adminClient(t, gw)
	created := admin.post("/teams", `{"slug":"`+slug+`","name":"`+slug+`"}`, 201)
	tm := memTeam{slug: slug, id: created["id"].(string), url: gw.URL + "/t/" + slug, audience: "api://" + slug}
	issuers := 0
	if issuer != "" {
		admin.post("/teams/"+slug+"/issuers", `{"issuer":"`+issuer+`","audience":"`+tm.audience+`"}`, 201)
		issuers = 1
	}
	admin.post("/teams/"+slug+"/engines", `{"name":"gpu-box","dialect":"ollama","base_url":"`+engineURL+`","default":true}`, 201)
	tm.adminKey = memKey(t, gw, slug, ScopeMemoryAdmin)
	waitForTeam(t, gw, slug, 1, issuers)
	return tm
}

// memKey mints an API key of team slug with scopes and waits until the
// request path accepts it.
func memKey(t *testing.T, gw *gateway, slug string, scopes ...string) string {
	t.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	list, _ := json.Marshal(scopes)
	k := adminClient(t, gw).post("/teams/"+slug+"/keys", `{"name":"memory test key","scopes":`+string(list)+`}`, 201)
	key, _ := k["key"].(string)
	if key == "" {
		t.Fatalf("no key in %v", k)
	}
	waitFor(t, "key of "+slug+" on the request path", func() bool {
		resp, _ := call(t, "GET", gw.URL+"/t/"+slug+"/mem/events?limit=1", key, "")
		return resp.StatusCode == 200
	})
	return key
}

// defaultTeamID is the id of the side-car's default team.
func defaultTeamID(t *testing.T, gw *gateway) string {
	t.Helper()
	s, ok := gw.dir.Team(gw.cfg.DefaultTeam)
	if !ok {
		t.Fatal("no default team in the directory")
	}
	return s.Team.ID
}

// memberToken is an access token of the test's IdP naming sub as the user,
// for audience, signed with the IdP's own key.
func memberToken(t *testing.T, idp *oidctest.Provider, audience, sub string, scopes ...string) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": idp.Issuer(), "aud": audience, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	return idp.Sign(t, "RS256", claims)
}

// sendChat sends a non-streamed Ollama chat request with prompt and
// returns the session the gateway gave it.
func sendChat(t *testing.T, base, token, prompt string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"model":    "tiny",
		"messages": []map[string]string{{"role": "user", "content": prompt}},
		"stream":   false,
	})
	resp, out := call(t, "POST", base+"/api/chat", token, string(body))
	if resp.StatusCode != 200 || !strings.Contains(out, engineAnswer) {
		t.Fatalf("chat %q: %d %s", prompt, resp.StatusCode, out)
	}
	return resp.Header.Get("X-Attach-Session-Id")
}

// addNote stores a note through POST /mem/events and returns its id.
func addNote(t *testing.T, base, token, content string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": content})
	resp, out := call(t, "POST", base+"/mem/events", token, string(body))
	if resp.StatusCode != 201 {
		t.Fatalf("POST /mem/events: %d %s", resp.StatusCode, out)
	}
	var added struct {
		MemID string       `json:"mem_id"`
		Event attach.Event `json:"event"`
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.MemID == "" || added.Event.ID != added.MemID {
		t.Fatalf("POST /mem/events answered %s", out)
	}
	return added.MemID
}

// listEvents is GET base/mem/events?query, which must answer 200.
func listEvents(t *testing.T, base, token, query string) []attach.Event {
	t.Helper()
	resp, out := call(t, "GET", base+"/mem/events?"+query, token, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /mem/events?%s: %d %s", query, resp.StatusCode, out)
	}
	var page struct {
		Events []attach.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("GET /mem/events?%s: not a page of events: %s", query, out)
	}
	return page.Events
}

// getEvent is GET base/mem/events/id, which must answer 200.
func getEvent(t *testing.T, base, token, id string) attach.Event {
	t.Helper()
	resp, out := call(t, "GET", base+"/mem/events/"+id, token, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /mem/events/%s: %d %s", id, resp.StatusCode, out)
	}
	var e attach.Event
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("GET /mem/events/%s: not an event: %s", id, out)
	}
	return e
}

// pollUntil polls cond until it holds, failing the test after within:
// memory is written and delivered behind the request path. Delivery after
// an outage waits out the worker's backoff, so callers choose the bound.
func pollUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pgIDs is the set of the team's event ids in Postgres.
func pgIDs(t *testing.T, pool *pgxpool.Pool, teamID string) map[string]bool {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT id::text FROM memory_events WHERE team_id = $1", teamID)
	if err != nil {
		t.Fatalf("read event ids: %v", err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("read event ids: %v", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read event ids: %v", err)
	}
	return ids
}

// countRows runs a count(*) query with the team's id as $1.
func countRows(t *testing.T, pool *pgxpool.Pool, query, teamID string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, teamID).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

const (
	countEvents   = "SELECT count(*) FROM memory_events WHERE team_id = $1"
	countOutbox   = "SELECT count(*) FROM memory_outbox WHERE team_id = $1"
	countFailed   = "SELECT count(*) FROM memory_outbox WHERE team_id = $1 AND attempts > 0"
	countErasures = "SELECT count(*) FROM memory_erasures WHERE team_id = $1"
)

// listenerSessions counts the processes listening on the database: each
// holds one session named attach-listener.
func listenerSessions(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'attach-listener' AND datname = current_database()`).Scan(&n)
	if err != nil {
		t.Fatalf("count listener sessions: %v", err)
	}
	return n
}

// weaviateView reads what a Weaviate server holds, through the sink's own
// helpers and through Weaviate's REST API.
type weaviateView struct {
	srv  *weaviatetest.Server
	sink *weaviate.Sink
}

func viewWeaviate(t *testing.T, srv *weaviatetest.Server) weaviateView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := weaviate.New(ctx, weaviate.Config{URL: srv.URL()})
	if err != nil {
		t.Fatalf("connect to weaviate: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return weaviateView{srv: srv, sink: s}
}

// ids is the set of event ids in the team's tenant; it fails the test if an
// id is there twice.
func (v weaviateView) ids(t *testing.T, teamID string) map[string]bool {
	t.Helper()
	list, err := v.sink.IDs(context.Background(), teamID)
	if err != nil {
		t.Fatalf("weaviate ids of team %s: %v", teamID, err)
	}
	set := make(map[string]bool, len(list))
	for _, id := range list {
		if set[id] {
			t.Fatalf("weaviate holds event %s twice", id)
		}
		set[id] = true
	}
	return set
}

func (v weaviateView) count(t *testing.T, teamID string) int {
	t.Helper()
	n, err := v.sink.Count(context.Background(), teamID)
	if err != nil {
		t.Fatalf("weaviate count of team %s: %v", teamID, err)
	}
	return n
}

// getObject asks Weaviate's REST API for an event's object in the team's
// tenant, and says which tenant that is.
func (v weaviateView) getObject(t *testing.T, teamID, id string) (*http.Response, string) {
	t.Helper()
	tenant, err := weaviate.TenantName(teamID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(v.srv.URL() + "/v1/objects/" + v.sink.Class() + "/" + id + "?tenant=" + url.QueryEscape(tenant))
	if err != nil {
		t.Fatalf("read weaviate object %s: %v", id, err)
	}
	return resp, tenant
}

// object reads one event's properties straight from Weaviate's REST API.
func (v weaviateView) object(t *testing.T, teamID, id string) map[string]any {
	t.Helper()
	resp, tenant := v.getObject(t, teamID, id)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("read weaviate object %s: %d %s", id, resp.StatusCode, body)
	}
	var obj struct {
		Tenant     string         `json:"tenant"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatalf("read weaviate object %s: %s", id, body)
	}
	if obj.Tenant != tenant {
		t.Fatalf("weaviate object %s is in tenant %q, want %q", id, obj.Tenant, tenant)
	}
	return obj.Properties
}

// objectStatus is the status Weaviate answers for an event's object in the
// team's tenant: 200 when it is there, 404 when not.
func (v weaviateView) objectStatus(t *testing.T, teamID, id string) int {
	t.Helper()
	resp, _ := v.getObject(t, teamID, id)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// tenantStatus is the status Weaviate answers for the team's tenant: 200
// when it exists, 404 when not.
func (v weaviateView) tenantStatus(t *testing.T, teamID string) int {
	t.Helper()
	tenant, err := weaviate.TenantName(teamID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(v.srv.URL() + "/v1/schema/" + v.sink.Class() + "/tenants/" + url.PathEscape(tenant))
	if err != nil {
		t.Fatalf("read weaviate tenant %s: %v", tenant, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// idSetDiff says what want has that got lacks and the reverse, a few of each.
func idSetDiff(want, got map[string]bool) string {
	var missing, extra []string
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Sprintf("%d missing %v, %d unexpected %v", len(missing), firstIDs(missing), len(extra), firstIDs(extra))
}

func firstIDs(s []string) []string { return s[:min(len(s), 5)] }

// metaString reads a text field of an event's metadata.
func metaString(t *testing.T, e attach.Event, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		t.Fatalf("event %s metadata %q: %v", e.ID, e.Metadata, err)
	}
	s, _ := m[key].(string)
	return s
}
