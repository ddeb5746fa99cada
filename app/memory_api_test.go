package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// apiHarness is a small Fiber app mounting the handlers as the gateway
// does; the caller is read from test headers, standing in for the
// gateway's token verification.
type apiHarness struct {
	t     *testing.T
	app   *fiber.App
	pool  *pgxpool.Pool
	store *memory.Store
	teams map[string]string // slug -> id
}

func newAPIHarness(t *testing.T) *apiHarness {
	t.Helper()
	pool := pgtest.New(t)
	ctx := context.Background()
	teams := tenants.NewStore(pool, nil)
	h := &apiHarness{t: t, pool: pool, teams: map[string]string{}}
	for _, slug := range []string{"acme", "other", "quiet"} {
		team, err := teams.CreateTeam(ctx, tenants.TeamInput{Slug: slug, Name: "Team " + slug})
		if err != nil {
			t.Fatalf("create team %s: %v", slug, err)
		}
		h.teams[slug] = team.ID
	}
	sinks, err := memory.NewSinks("", memory.NewPostgresSink(pool))
	if err != nil {
		t.Fatal(err)
	}
	if h.store, err = memory.NewStore(pool, sinks, teams, memory.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SetSettings(ctx, h.teams["quiet"], memory.TeamSettings{Backend: memory.BackendNone}); err != nil {
		t.Fatal(err)
	}
	api := &memoryAPI{store: h.store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.app = fiber.New(fiber.Config{ErrorHandler: web.WriteError})
	with := func(handler func(*fiber.Ctx, memCaller) error) fiber.Handler {
		return func(c *fiber.Ctx) error {
			return handler(c, memCaller{TeamID: h.teams[c.Get("X-Test-Team")], User: c.Get("X-Test-User"),
				Session: "sess-" + c.Get("X-Test-User"), Admin: c.Get("X-Test-Admin") == "1"})
		}
	}
	for _, r := range memoryRoutes {
		h.app.Add(r.method, r.path, with(r.handler(api)))
	}
	return h
}

type memTestCaller struct {
	team, user string
	admin      bool
}

var (
	alice      = memTestCaller{team: "acme", user: "alice"}
	bob        = memTestCaller{team: "acme", user: "bob"}
	acmeAdmin  = memTestCaller{team: "acme", user: "root", admin: true}
	otherAdmin = memTestCaller{team: "other", user: "root", admin: true}
	quietUser  = memTestCaller{team: "quiet", user: "q"}
)

// do sends a request and decodes the JSON answer into out (when not nil).
func (h *apiHarness) do(who memTestCaller, method, target, body string, out any) int {
	h.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Team", who.team)
	req.Header.Set("X-Test-User", who.user)
	if who.admin {
		req.Header.Set("X-Test-Admin", "1")
	}
	resp, err := h.app.Test(req, -1)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: answer %q is not JSON: %v", method, target, raw, err)
		}
	}
	return resp.StatusCode
}

// expectError checks an error answer's status and shape.
func (h *apiHarness) expectError(who memTestCaller, method, target, body string, status int, code string) {
	h.t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	got := h.do(who, method, target, body, &e)
	if got != status || e.Error.Code != code || e.Error.Message == "" {
		h.t.Errorf("%s %s %q: %d %+v; want %d %s", method, target, body, got, e, status, code)
	}
}

func (h *apiHarness) note(who memTestCaller, content string) attach.Event {
	h.t.Helper()
	var out struct {
		MemID string       `json:"mem_id"`
		Event attach.Event `json:"event"`
	}
	if st := h.do(who, "POST", "/mem/events", `{"content":`+jsonString(content)+`}`, &out); st != http.StatusCreated {
		h.t.Fatalf("add note: status %d", st)
	}
	if out.MemID == "" || out.MemID != out.Event.ID {
		h.t.Fatalf("add note: %+v", out)
	}
	return out.Event
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type listAnswer struct {
	Events []attach.Event `json:"events"`
	Next   string         `json:"next"`
}

func TestAPIAddEvent(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	var out struct {
		MemID string       `json:"mem_id"`
		Event attach.Event `json:"event"`
	}
	st := h.do(alice, "POST", "/mem/events",
		`{"kind":"task_result","content":"done: key sk-abcdefghijklmnop1234","role":"agent","task_id":"t-1","metadata":{"steps":3}}`, &out)
	if st != http.StatusCreated {
		t.Fatalf("status %d", st)
	}
	e := out.Event
	if e.Kind != attach.KindTaskResult || e.User != "alice" || e.TeamID != h.teams["acme"] || e.Session != "sess-alice" ||
		e.TaskID != "t-1" || e.Role != "agent" || e.Content != "done: key [REDACTED]" || string(e.Metadata) != `{"steps":3}` {
		t.Fatalf("event = %+v %s", e, e.Metadata)
	}
	if n := h.note(alice, "remember milk"); n.Kind != attach.KindNote {
		t.Fatalf("default kind = %s", n.Kind)
	}
	var withSession struct{ Event attach.Event }
	h.do(alice, "POST", "/mem/events", `{"content":"x","session":"mine"}`, &withSession)
	if withSession.Event.Session != "mine" {
		t.Fatalf("session from body not kept: %+v", withSession.Event)
	}

	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"content":`, 400, attach.CodeInvalidJSON},
		{`not json`, 400, attach.CodeInvalidJSON},
		{`{"content":"x","user":"mallory"}`, 400, attach.CodeInvalidJSON}, // the user is the caller's
		{`{"content":"x","team_id":"x"}`, 400, attach.CodeInvalidJSON},
		{`{"content":"x"} {"content":"y"}`, 400, attach.CodeInvalidJSON},
		{`{"content":5}`, 400, attach.CodeInvalidJSON},
		{`{"content":"  "}`, 422, codeInvalidRequest},
		{`{}`, 422, codeInvalidRequest},
		{`{"content":"x","kind":"prompt"}`, 422, codeInvalidRequest},
		{`{"content":"x","metadata":[1]}`, 422, codeInvalidRequest},
		{`{"content":"x","role":"` + strings.Repeat("r", 201) + `"}`, 422, codeInvalidRequest},
		{`{"content":"` + strings.Repeat("x", memory.DefaultMaxContent+1) + `"}`, 422, codeInvalidRequest},
		{`{"content":"` + strings.Repeat("x", 8*memory.DefaultMaxContent) + `"}`, 413, attach.CodeTooLarge},
	} {
		h.expectError(alice, "POST", "/mem/events", tc.body, tc.status, tc.code)
	}
	h.expectError(quietUser, "POST", "/mem/events", `{"content":"x"}`, 409, attach.CodeDisabled)
}

func TestAPIScoping(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	a1 := h.note(alice, "alice one")
	h.note(alice, "alice two")
	b1 := h.note(bob, "bob one")
	o1 := h.note(otherAdmin, "other team")

	// Reading one event.
	var got attach.Event
	if st := h.do(alice, "GET", "/mem/events/"+a1.ID, "", &got); st != 200 || got.ID != a1.ID {
		t.Fatalf("own event: %d %+v", st, got)
	}
	h.expectError(alice, "GET", "/mem/events/"+b1.ID, "", 404, attach.CodeNotFound)
	if st := h.do(acmeAdmin, "GET", "/mem/events/"+b1.ID, "", &got); st != 200 || got.User != "bob" {
		t.Fatalf("admin reads bob's event: %d %+v", st, got)
	}
	h.expectError(acmeAdmin, "GET", "/mem/events/"+o1.ID, "", 404, attach.CodeNotFound)
	h.expectError(otherAdmin, "GET", "/mem/events/"+a1.ID, "", 404, attach.CodeNotFound)
	h.expectError(alice, "GET", "/mem/events/not-an-id", "", 404, attach.CodeNotFound)
	// A member without a user identity sees nobody's events.
	anonymous := memTestCaller{team: "acme"}
	h.expectError(anonymous, "GET", "/mem/events", "", 403, attach.CodeForbidden)
	h.expectError(anonymous, "GET", "/mem/events?q=one", "", 403, attach.CodeForbidden)
	h.expectError(anonymous, "GET", "/mem/events/"+a1.ID, "", 404, attach.CodeNotFound)

	// Listing.
	var list listAnswer
	if st := h.do(alice, "GET", "/mem/events", "", &list); st != 200 || len(list.Events) != 2 || list.Next != "" {
		t.Fatalf("alice lists: %d %+v", st, list)
	}
	for _, e := range list.Events {
		if e.User != "alice" {
			t.Fatalf("alice sees %s's event", e.User)
		}
	}
	h.expectError(alice, "GET", "/mem/events?user=bob", "", 403, attach.CodeForbidden)
	if st := h.do(alice, "GET", "/mem/events?user=alice", "", &list); st != 200 || len(list.Events) != 2 {
		t.Fatalf("alice names herself: %d %+v", st, list)
	}
	if st := h.do(acmeAdmin, "GET", "/mem/events", "", &list); st != 200 || len(list.Events) != 3 {
		t.Fatalf("admin lists the team: %d, %d events", st, len(list.Events))
	}
	if st := h.do(acmeAdmin, "GET", "/mem/events?user=bob", "", &list); st != 200 || len(list.Events) != 1 {
		t.Fatalf("admin lists bob: %d %+v", st, list)
	}
	if st := h.do(otherAdmin, "GET", "/mem/events", "", &list); st != 200 || len(list.Events) != 1 || list.Events[0].ID != o1.ID {
		t.Fatalf("other team lists: %d %+v", st, list)
	}

	// Search is scoped the same way.
	if st := h.do(alice, "GET", "/mem/events?q=one", "", &list); st != 200 || len(list.Events) != 1 || list.Events[0].ID != a1.ID {
		t.Fatalf("alice searches 'one': %d %+v", st, list)
	}
	if st := h.do(acmeAdmin, "GET", "/mem/events?q=one", "", &list); st != 200 || len(list.Events) != 2 {
		t.Fatalf("admin searches 'one': %d %+v", st, list)
	}
	h.expectError(quietUser, "GET", "/mem/events?q=one", "", 409, attach.CodeDisabled)

	// Erasing.
	h.expectError(alice, "DELETE", "/mem/events?user=bob", "", 403, attach.CodeForbidden)
	h.expectError(alice, "DELETE", "/mem/events", "", 400, codeInvalidRequest)
	var erased struct{ Deleted int }
	if st := h.do(acmeAdmin, "DELETE", "/mem/events?user=bob", "", &erased); st != 200 || erased.Deleted != 1 {
		t.Fatalf("admin erases bob: %d %+v", st, erased)
	}
	if st := h.do(alice, "DELETE", "/mem/events?user=alice", "", &erased); st != 200 || erased.Deleted != 2 {
		t.Fatalf("alice erases herself: %d %+v", st, erased)
	}
	if st := h.do(acmeAdmin, "GET", "/mem/events", "", &list); st != 200 || len(list.Events) != 0 {
		t.Fatalf("after erasure: %d %+v", st, list)
	}
	if st := h.do(otherAdmin, "GET", "/mem/events", "", &list); st != 200 || len(list.Events) != 1 {
		t.Fatalf("erasure reached another team: %+v", list)
	}
}

func TestAPIListFiltersAndPages(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	for i := range 5 {
		h.note(alice, fmt.Sprintf("n%d", i))
	}
	h.do(alice, "POST", "/mem/events", `{"kind":"task_sent","content":"go","task_id":"t-9","session":"s9"}`, nil)

	var list listAnswer
	var seen []string
	target := "/mem/events?kind=note&limit=2"
	for range 4 {
		if st := h.do(alice, "GET", target, "", &list); st != 200 {
			t.Fatalf("%s: %d", target, st)
		}
		for _, e := range list.Events {
			seen = append(seen, e.Content)
		}
		if list.Next == "" {
			break
		}
		target = "/mem/events?kind=note&limit=2&before=" + list.Next
	}
	if strings.Join(seen, ",") != "n4,n3,n2,n1,n0" {
		t.Fatalf("pages gave %v", seen)
	}
	for _, q := range []string{"task=t-9", "session=s9", "kind=task_sent"} {
		if st := h.do(alice, "GET", "/mem/events?"+q, "", &list); st != 200 || len(list.Events) != 1 || list.Events[0].TaskID != "t-9" {
			t.Fatalf("?%s: %d %+v", q, st, list)
		}
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "before=nope", "kind=shout"} {
		h.expectError(alice, "GET", "/mem/events?"+q, "", 400, codeInvalidRequest)
	}
}

func TestAPILogs(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	var out struct {
		Accepted int
		IDs      []string
	}
	for _, tc := range []struct {
		name, body string
		n          int
	}{
		{"object", `{"level":"info","message":"started","port":8080}`, 1},
		{"array", `[{"msg":"one"},{"content":"two","trace":"abc"}]`, 2},
		{"ndjson", "{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n\n{\"msg\":\"c\"}\n", 3},
	} {
		if st := h.do(alice, "POST", "/v1/logs", tc.body, &out); st != http.StatusAccepted || out.Accepted != tc.n || len(out.IDs) != tc.n {
			t.Fatalf("%s: %d %+v", tc.name, st, out)
		}
	}
	var list listAnswer
	h.do(alice, "GET", "/mem/events?kind=log&limit=200", "", &list)
	if len(list.Events) != 6 {
		t.Fatalf("%d log events, want 6", len(list.Events))
	}
	first := list.Events[len(list.Events)-1]
	if first.Content != "started" || first.Kind != attach.KindLog || first.User != "alice" {
		t.Fatalf("first log: %+v", first)
	}
	var meta map[string]any
	if err := json.Unmarshal(first.Metadata, &meta); err != nil || meta["level"] != "info" || meta["port"] != 8080.0 || meta["message"] != nil {
		t.Fatalf("first log metadata: %s (%v)", first.Metadata, err)
	}

	// Secrets in log lines, in the text or the fields, are not kept.
	h.do(alice, "POST", "/v1/logs", `{"message":"calling with Bearer abcdefghijklmnop0123","api_key":"plain","url":"https://u:pw@x/"}`, &out)
	var e attach.Event
	h.do(alice, "GET", "/mem/events/"+out.IDs[0], "", &e)
	if strings.Contains(e.Content, "abcdefghijklmnop0123") || strings.Contains(string(e.Metadata), "plain") || strings.Contains(string(e.Metadata), "pw@") {
		t.Fatalf("secret kept: %q %s", e.Content, e.Metadata)
	}

	// A line longer than the limit is kept, cut short.
	long := strings.Repeat("é", memory.DefaultMaxContent)
	h.do(alice, "POST", "/v1/logs", `{"message":"`+long+`"}`, &out)
	h.do(alice, "GET", "/mem/events/"+out.IDs[0], "", &e)
	if !e.Truncated || len(e.Content) != memory.DefaultMaxContent {
		t.Fatalf("long line: %d bytes, truncated=%v", len(e.Content), e.Truncated)
	}

	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"level":"info"}`, 422, codeInvalidRequest},
		{`[{"msg":"ok"},"text"]`, 422, codeInvalidRequest},
		{`{"msg":""}`, 422, codeInvalidRequest},
		{`[]`, 422, codeInvalidRequest},
		{``, 422, codeInvalidRequest},
		{`{"msg":"a"`, 400, attach.CodeInvalidJSON},
		{`[{"msg":"a"}`, 400, attach.CodeInvalidJSON},
		{strings.Repeat(`{"msg":"a"}`+"\n", maxLogLines+1), 413, attach.CodeTooLarge},
	} {
		h.expectError(alice, "POST", "/v1/logs", tc.body, tc.status, tc.code)
	}
	h.expectError(quietUser, "POST", "/v1/logs", `{"msg":"x"}`, 409, attach.CodeDisabled)
}
