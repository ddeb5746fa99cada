package console

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// memEnv is the console of env with a real memory store beside the
// tenants store, on the same database, as the gateway runs them.
type memEnv struct {
	*env
	pool *pgxpool.Pool
	mem  *memory.Store
}

func newMemEnv(t testing.TB) *memEnv {
	t.Helper()
	return newMemEnvOn(t, pgtest.New(t), nil)
}

// newMemEnvOn is newMemEnv on pool, with rec as the gateway's recorder.
func newMemEnvOn(t testing.TB, pool *pgxpool.Pool, rec Recorder) *memEnv {
	t.Helper()
	sinks, err := memory.NewSinks("", memory.NewPostgresSink(pool))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memory.NewStore(pool, sinks, tenants.NewStore(pool, nil), memory.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{pool: pool, memory: mem, backends: sinks.Names(), recorder: rec})
	return &memEnv{env: e, pool: pool, mem: mem}
}

// add stores an event for team.
func (m *memEnv) add(team attach.Team, ev attach.Event) attach.Event {
	m.t.Helper()
	ev.TeamID = team.ID
	if ev.Kind == "" {
		ev.Kind = attach.KindNote
	}
	got, err := m.mem.Add(testCtx(m.t), ev)
	if err != nil {
		m.t.Fatalf("add event: %v", err)
	}
	return got
}

// queueAll puts every event of team in the delivery outbox, as for a team
// whose backend is not Postgres itself (on the test's install Postgres is
// the only one, and its events need no delivery).
func (m *memEnv) queueAll(team attach.Team) {
	m.t.Helper()
	m.exec(`INSERT INTO memory_outbox (event_id, team_id) SELECT id, team_id FROM memory_events
		WHERE team_id = $1 ON CONFLICT DO NOTHING`, team.ID)
}

func (m *memEnv) exec(sql string, args ...any) {
	m.t.Helper()
	if _, err := m.pool.Exec(testCtx(m.t), sql, args...); err != nil {
		m.t.Fatalf("%s: %v", sql, err)
	}
}

var memoryRowRE = regexp.MustCompile(`<tr id="event-([0-9a-f-]+)" data-testid="memory-row"`)

// rowIDs lists the event ids of a memory page, in order.
func rowIDs(p page) []string {
	var out []string
	for _, m := range memoryRowRE.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func wantRows(t *testing.T, p page, want ...attach.Event) {
	t.Helper()
	got := rowIDs(p)
	ids := make([]string, len(want))
	for i, e := range want {
		ids[i] = e.ID
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("%s: rows %v, want %v", p.Request.URL, got, ids)
	}
}

func TestMemoryWhoSeesWhat(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner, admin, alice, vera, outsider := m.user("owner"), m.user("admin"), m.user("alice"), m.user("vera"), m.user("out")
	team := m.team("mem", owner)
	m.member(team, admin, tenants.RoleAdmin)
	m.member(team, alice, tenants.RoleMember)
	m.member(team, vera, tenants.RoleViewer)
	m.team("elsewhere", outsider)

	a1 := m.add(team, attach.Event{User: attach.UserSubject(alice.ID), Session: "sess-alice", Kind: attach.KindPrompt, Content: "alice asks about kangaroos", Model: "llama3", Engine: "gpu-box"})
	o1 := m.add(team, attach.Event{User: attach.UserSubject(owner.ID), Session: "sess-owner", Content: "owner's private note"})
	g1 := m.add(team, attach.Event{User: "agent-7", Session: "sess-agent", Kind: attach.KindLog, Content: "agent log line"})

	// Owners and admins see the whole team's events, newest first, with
	// members named and the user filter offered.
	for _, u := range []tenants.User{owner, admin} {
		p := m.signedIn(u).get(Base + "/t/mem/memory")
		wantStatus(t, p, http.StatusOK)
		wantRows(t, p, g1, o1, a1)
		wantContains(t, p, `id="nav-memory"`, `aria-current="page"`, `id="user"`, "User alice", "agent-7", "llama3 · gpu-box", "alice asks about kangaroos")
		wantStatus(t, m.signedIn(u).get(Base+"/t/mem/memory/"+a1.ID), http.StatusOK)
	}

	// A member sees only their own, even when asking for someone else's.
	ab := m.signedIn(alice)
	p := ab.get(Base + "/t/mem/memory")
	wantStatus(t, p, http.StatusOK)
	wantRows(t, p, a1)
	wantLacks(t, p, "owner's private note", "agent log line", `id="user"`)
	p = ab.get(Base + "/t/mem/memory?user=" + url.QueryEscape(attach.UserSubject(owner.ID)))
	wantRows(t, p, a1)
	p = ab.get(Base + "/t/mem/memory?q=note")
	wantStatus(t, p, http.StatusOK)
	wantRows(t, p)
	wantStatus(t, ab.get(Base+"/t/mem/memory/"+a1.ID), http.StatusOK)
	for _, other := range []attach.Event{o1, g1} {
		p := ab.get(Base + "/t/mem/memory/" + other.ID)
		wantStatus(t, p, http.StatusNotFound)
		wantLacks(t, p, other.Content)
	}

	// A viewer has no events of their own: the empty state says how
	// events get here.
	p = m.signedIn(vera).get(Base + "/t/mem/memory")
	wantStatus(t, p, http.StatusOK)
	wantRows(t, p)
	wantContains(t, p, `data-testid="empty"`, "POST /t/mem/mem/events", "chats through the gateway")
	wantStatus(t, m.signedIn(vera).get(Base+"/t/mem/memory/"+a1.ID), http.StatusNotFound)

	// Not a member: 404, like every page of the team.
	ob := m.signedIn(outsider)
	wantStatus(t, ob.get(Base+"/t/mem/memory"), http.StatusNotFound)
	wantStatus(t, ob.get(Base+"/t/mem/memory/"+a1.ID), http.StatusNotFound)
	// Nor does an event of one team show under another.
	wantStatus(t, ob.get(Base+"/t/elsewhere/memory/"+a1.ID), http.StatusNotFound)
	// An id that is not one.
	wantStatus(t, m.signedIn(owner).get(Base+"/t/mem/memory/not-an-id"), http.StatusNotFound)
}

func TestMemoryFiltersAndSearch(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner, bob := m.user("owner"), m.user("bob")
	team := m.team("filters", owner)
	m.member(team, bob, tenants.RoleMember)

	p1 := m.add(team, attach.Event{User: attach.UserSubject(bob.ID), Session: "s-one", Kind: attach.KindPrompt, Content: "how do wombats dig burrows"})
	r1 := m.add(team, attach.Event{User: attach.UserSubject(bob.ID), Session: "s-one", Kind: attach.KindResponse, Content: "wombats dig with strong claws; wombats wombats"})
	p2 := m.add(team, attach.Event{User: attach.UserSubject(owner.ID), Session: "s-two", Kind: attach.KindPrompt, Content: "tell me about koalas"})
	t1 := m.add(team, attach.Event{User: "agent-1", Session: "s-three", Kind: attach.KindTaskSent, TaskID: "task-42", Content: "summarise the wombat report"})
	t2 := m.add(team, attach.Event{User: "agent-2", Session: "s-four", Kind: attach.KindTaskResult, TaskID: "task-42", Content: "summary done"})

	ob := m.signedIn(owner)
	get := func(q url.Values) page {
		t.Helper()
		p := ob.get(Base + "/t/filters/memory?" + q.Encode())
		wantStatus(t, p, http.StatusOK)
		return p
	}
	wantRows(t, get(url.Values{"session": {"s-one"}}), r1, p1)
	wantRows(t, get(url.Values{"kind": {"prompt"}}), p2, p1)
	wantRows(t, get(url.Values{"user": {attach.UserSubject(bob.ID)}}), r1, p1)
	wantRows(t, get(url.Values{"task": {"task-42"}}), t2, t1)
	wantRows(t, get(url.Values{"kind": {"prompt"}, "session": {"s-two"}}), p2)
	wantRows(t, get(url.Values{"session": {"nope"}}))
	wantContains(t, get(url.Values{"session": {"nope"}}), "No events match", `id="clear-filters"`)

	// Search ranks by the store's full-text match, best first, and keeps
	// the other filters.
	p := get(url.Values{"q": {"wombats"}})
	wantRows(t, p, r1, p1)
	wantContains(t, p, `data-testid="search-note"`, `value="wombats"`)
	wantRows(t, get(url.Values{"q": {"wombats"}, "kind": {"prompt"}}), p1)
	wantRows(t, get(url.Values{"q": {"koalas"}}), p2)

	// A member's search stays within their own events.
	bb := m.signedIn(bob)
	wantRows(t, bb.get(Base+"/t/filters/memory?q=koalas"))
	wantRows(t, bb.get(Base+"/t/filters/memory?q=wombats"), r1, p1)

	// The event page shows every field and links to the session and task.
	ev := ob.get(Base + "/t/filters/memory/" + t1.ID)
	wantStatus(t, ev, http.StatusOK)
	wantContains(t, ev, t1.ID, "agent-1", "s-three", "task-42", "task_sent", "summarise the wombat report",
		`href="/console/t/filters/memory?session=s-three"`, `href="/console/t/filters/memory?task=task-42"`,
		`href="/console/t/filters/memory?user=agent-1"`)
	// A member has no user links: their list is theirs only.
	wantLacks(t, bb.get(Base+"/t/filters/memory/"+p1.ID), `id="user-events"`)

	// Bad filters are the user's mistake, shown next to the field.
	bad := ob.get(Base + "/t/filters/memory?kind=gossip")
	wantStatus(t, bad, http.StatusBadRequest)
	wantContains(t, bad, `data-testid="kind-error"`, `data-testid="memory-problem"`)
	bad = ob.get(Base + "/t/filters/memory?before=not-a-cursor")
	wantStatus(t, bad, http.StatusBadRequest)
	wantContains(t, bad, "This page link is not valid")
	bad = ob.get(Base + "/t/filters/memory?session=" + url.QueryEscape("a\x00b"))
	wantStatus(t, bad, http.StatusBadRequest)
	wantContains(t, bad, `data-testid="session-error"`)
	bad = ob.get(Base + "/t/filters/memory?q=" + strings.Repeat("w", maxSearchText+1))
	wantStatus(t, bad, http.StatusBadRequest)
	wantContains(t, bad, `data-testid="q-error"`)
}

var olderMemoryRE = regexp.MustCompile(`href="([^"]+)" id="next-page"`)

func TestMemoryPaginationKeepsFilters(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner := m.user("owner")
	team := m.team("paging", owner)
	var events []attach.Event
	for i := range 130 {
		events = append(events, attach.Event{TeamID: team.ID, User: "agent", Session: "s-" + strconv.Itoa(i%2), Kind: attach.KindNote, Content: "note " + strconv.Itoa(i)})
	}
	if _, err := m.mem.AddMany(testCtx(t), events); err != nil {
		t.Fatal(err)
	}
	b := m.signedIn(owner)
	seen := map[string]bool{}
	next := Base + "/t/paging/memory?session=s-1"
	pages := 0
	for ; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		p := b.get(next)
		wantStatus(t, p, http.StatusOK)
		for _, id := range rowIDs(p) {
			if seen[id] {
				t.Fatalf("event %s shown twice", id)
			}
			seen[id] = true
		}
		wantLacks(t, p, `>note 0<`) // an event of the other session
		next = ""
		if mm := olderMemoryRE.FindStringSubmatch(p.Body); mm != nil {
			next = html.UnescapeString(mm[1])
			if !strings.Contains(next, "session=s-1") || !strings.Contains(next, "before=") {
				t.Fatalf("the next page link %q loses the filter", next)
			}
		}
		if pages > 0 {
			wantContains(t, p, `href="/console/t/paging/memory?session=s-1" id="first-page"`)
		}
	}
	if pages != 2 || len(seen) != 65 {
		t.Fatalf("%d pages, %d events; want 2 pages of the session's 65", pages, len(seen))
	}
}

func TestMemoryEscapes(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner := m.user("owner")
	team := m.team("xss", owner)
	evil := `<script>alert("content")</script><img src=x onerror=alert(1)>`
	meta := json.RawMessage(`{"note":"</pre><script>alert('meta')</script>","n":1}`)
	ev := m.add(team, attach.Event{User: `<b>agent</b>`, Session: `"><script>s</script>`, Model: "<i>m</i>", Content: evil, Metadata: meta})

	b := m.signedIn(owner)
	for _, path := range []string{"/t/xss/memory", "/t/xss/memory/" + ev.ID, "/t/xss/memory?session=" + url.QueryEscape(ev.Session)} {
		p := b.get(Base + path)
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, "<script>alert", "<img src=x", "<b>agent</b>", "<i>m</i>", `"><script>s`)
		wantContains(t, p, "&lt;b&gt;agent&lt;/b&gt;")
	}
	p := b.get(Base + "/t/xss/memory/" + ev.ID)
	wantContains(t, p, "&lt;script&gt;alert(&#34;content&#34;)&lt;/script&gt;", "&lt;/pre&gt;&lt;script&gt;alert(&#39;meta&#39;)",
		"{\n  &#34;n&#34;: 1,\n  &#34;note&#34;: ") // pretty-printed
}

func TestMemoryContentPreview(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner := m.user("owner")
	team := m.team("long", owner)
	long := "start\n\n  of a " + strings.Repeat("long line ", 100) + "END-MARKER"
	m.add(team, attach.Event{User: "agent", Content: long, Truncated: true})
	p := m.signedIn(owner).get(Base + "/t/long/memory")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "start of a long line", "…", `data-testid="truncated"`)
	wantLacks(t, p, "END-MARKER")
}

func TestPreview(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"", 5, "", false},
		{"hello", 5, "hello", false},
		{"hello!", 5, "hello…", true},
		{"  a \n\t b  ", 5, "a b", false},
		{"ab cd", 4, "ab c…", true},
		{"ab  cd", 3, "ab…", true},
		{"héllo wörld", 11, "héllo wörld", false},
		{"日本語テキスト", 3, "日本語…", true},
	} {
		got, cut := preview(c.in, c.n)
		if got != c.want || cut != c.cut {
			t.Errorf("preview(%q, %d) = %q, %v; want %q, %v", c.in, c.n, got, cut, c.want, c.cut)
		}
	}
}

func TestMemoryDeliveryStatus(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner, member := m.user("owner"), m.user("member")
	team := m.team("status", owner)
	m.member(team, member, tenants.RoleMember)
	b := m.signedIn(owner)

	p := b.get(Base + "/t/status/memory")
	wantContains(t, p, `data-testid="delivery-status"`, "All events delivered", "postgres", "(install default)")

	for i := range 3 {
		m.add(team, attach.Event{User: attach.UserSubject(member.ID), Content: "event " + strconv.Itoa(i)})
	}
	m.queueAll(team)
	p = b.get(Base + "/t/status/memory")
	wantContains(t, p, "3 events wait to be delivered", "the oldest for")
	wantLacks(t, p, "All events delivered", `data-testid="memory-last-error"`)

	// The worker stores the sink's failure, cleaned; the box shows it to
	// every member.
	m.exec(`UPDATE memory_outbox SET attempts = 4, last_error = 'weaviate: connection refused' WHERE team_id = $1`, team.ID)
	p = m.signedIn(member).get(Base + "/t/status/memory")
	wantContains(t, p, "3 events wait", "after 4 failed attempts", `data-testid="memory-last-error"`, "weaviate: connection refused")

	// Delivered: the outbox is empty.
	m.exec(`DELETE FROM memory_outbox WHERE team_id = $1`, team.ID)
	wantContains(t, b.get(Base+"/t/status/memory"), "All events delivered")
}

func TestMemorySettings(t *testing.T) {
	t.Parallel()
	m := newMemEnv(t)
	owner, admin, member, viewer := m.user("owner"), m.user("admin"), m.user("member"), m.user("viewer")
	team := m.team("setting", owner)
	m.member(team, admin, tenants.RoleAdmin)
	m.member(team, member, tenants.RoleMember)
	m.member(team, viewer, tenants.RoleViewer)
	ctx := testCtx(t)
	kept := m.add(team, attach.Event{User: "agent", Content: "kept before memory was turned off"})
	backend := func() string {
		t.Helper()
		s, err := m.mem.Settings(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s.Backend
	}

	// Members and viewers neither see the form nor may post it.
	for _, u := range []tenants.User{member, viewer} {
		b := m.signedIn(u)
		wantLacks(t, b.get(Base+"/t/setting/memory"), `id="memory-settings-form"`)
		p := b.post(Base+"/t/setting/memory/settings", url.Values{"backend": {"none"}})
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, `data-testid="error-page"`)
	}
	if got := backend(); got != "" {
		t.Fatalf("a refused post set the backend to %q", got)
	}

	ab := m.signedIn(admin)
	p := ab.get(Base + "/t/setting/memory")
	wantContains(t, p, `id="memory-settings-form"`, `<option value="" selected>Install default (postgres)</option>`,
		`<option value="none">`, `<option value="postgres">`)
	wantLacks(t, p, `<option value="weaviate"`) // not configured on this install

	// Without the session's CSRF token nothing changes.
	p = ab.post(Base+"/t/setting/memory/settings", url.Values{"backend": {"none"}, "csrf": {"forged"}})
	wantStatus(t, p, http.StatusForbidden)
	if got := backend(); got != "" {
		t.Fatalf("a forged post set the backend to %q", got)
	}

	// A backend the install does not have is refused next to the field.
	p = ab.post(Base+"/t/setting/memory/settings", url.Values{"backend": {"weaviate"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `data-testid="backend-error"`, `id="delivery-status"`)
	if got := backend(); got != "" {
		t.Fatalf("a refused backend was saved: %q", got)
	}

	wantRedirect(t, ab.post(Base+"/t/setting/memory/settings", url.Values{"backend": {"none"}}), Base+"/t/setting/memory?done=memory-saved")
	if got := backend(); got != memory.BackendNone {
		t.Fatalf("backend %q, want none", got)
	}
	p = ab.get(Base + "/t/setting/memory?done=memory-saved")
	wantContains(t, p, `data-testid="notice"`, "Memory settings saved", `<option value="none" selected>`, "(chosen for this team)", "memory is off")

	// The change is in the team's audit log, by the admin.
	list, _, err := m.store.ListAudit(ctx, team.ID, tenants.Page{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].Action != tenants.AuditMemorySettings || list[0].ActorID != admin.ID ||
		fmt.Sprint(list[0].Detail["backend"]) != "none" || fmt.Sprint(list[0].Detail["previous"]) != "default" {
		t.Fatalf("newest audit entry %+v, want the admin's memory.settings to none", list)
	}

	// Searching a team whose memory is off says so; what was kept is
	// still listed.
	p = ab.get(Base + "/t/setting/memory?q=kept")
	wantStatus(t, p, http.StatusConflict)
	wantContains(t, p, "Memory is turned off for this team")
	wantRows(t, ab.get(Base+"/t/setting/memory"), kept)

	// Back to the install's default.
	wantRedirect(t, m.signedIn(owner).post(Base+"/t/setting/memory/settings", url.Values{"backend": {""}}), Base+"/t/setting/memory?done=memory-saved")
	if got := backend(); got != "" {
		t.Fatalf("backend %q, want the default", got)
	}
}

func TestMemoryOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no memory store
	u := e.user("solo")
	e.team("nomem", u)
	b := e.signedIn(u)
	p := b.get(Base + "/t/nomem/memory")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "This gateway keeps no memory")
	wantLacks(t, p, `id="memory-filters"`, `id="memory-settings-form"`)
	wantStatus(t, b.get(Base+"/t/nomem/memory/0190f5c3-0000-7000-8000-000000000000"), http.StatusNotFound)
	wantStatus(t, b.post(Base+"/t/nomem/memory/settings", url.Values{"backend": {"none"}}), http.StatusNotFound)
}

// BenchmarkMemoryPage renders the memory page of a team with 10,000
// events, all waiting for delivery, through the HTTP server and the
// handlers: the newest page for an admin and for a member, and a search.
func BenchmarkMemoryPage(b *testing.B) {
	m := newMemEnv(b)
	owner, member := m.user("owner"), m.user("member")
	team := m.team("big", owner)
	m.member(team, member, tenants.RoleMember)
	words := []string{"wombat", "koala", "kangaroo", "echidna", "platypus", "quokka"}
	for batch := range 10 {
		events := make([]attach.Event, 1000)
		for i := range events {
			n := batch*1000 + i
			user := "agent-" + strconv.Itoa(n%7)
			if n%2 == 0 {
				user = attach.UserSubject(member.ID)
			}
			events[i] = attach.Event{
				TeamID: team.ID, User: user, Session: "session-" + strconv.Itoa(n%40), Kind: memoryKinds[n%len(memoryKinds)],
				Model: "llama3", Engine: "gpu-box",
				Content: fmt.Sprintf("event %d about the %s: %s", n, words[n%len(words)], strings.Repeat("and more text ", 30)),
			}
		}
		if _, err := m.mem.AddMany(testCtx(b), events); err != nil {
			b.Fatal(err)
		}
	}
	m.queueAll(team)
	for _, c := range []struct {
		name string
		as   tenants.User
		path string
		rows int
	}{
		{"admin", owner, "/t/big/memory", memoryPageSize},
		{"member", member, "/t/big/memory", memoryPageSize},
		{"search", owner, "/t/big/memory?q=quokka", memoryPageSize},
	} {
		br := m.signedIn(c.as)
		b.Run(c.name, func(b *testing.B) {
			p := br.get(Base + c.path)
			if p.StatusCode != http.StatusOK || len(rowIDs(p)) != c.rows || !strings.Contains(p.Body, "10000 events wait") {
				b.Fatalf("%s: status %d, %d rows: %.600s", c.path, p.StatusCode, len(rowIDs(p)), p.Body)
			}
			b.ResetTimer()
			for b.Loop() {
				if p := br.get(Base + c.path); p.StatusCode != http.StatusOK {
					b.Fatalf("status %d", p.StatusCode)
				}
			}
		})
	}
}
