package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// taskEnv is the console of env with the A2A task store on the same
// database, read through storeTasks as the app wires it.
type taskEnv struct {
	*env
	pool  *pgxpool.Pool
	tasks *a2a.Store
}

func newTaskEnv(t testing.TB) *taskEnv {
	t.Helper()
	pool := pgtest.New(t)
	store := a2a.NewStore(pool)
	e := newEnv(t, envOptions{pool: pool, tasks: storeTasks{store}})
	return &taskEnv{env: e, pool: pool, tasks: store}
}

// storeTasks reads the task store for the console, as the app's adapter
// does (the app cannot be imported here: it imports the console).
type storeTasks struct{ s *a2a.Store }

func (r storeTasks) ListTasks(ctx context.Context, q TaskQuery) ([]attach.Task, string, error) {
	list, next, err := r.s.List(ctx, a2a.TaskFilter{TeamID: q.TeamID, AgentName: q.Agent, User: q.User, State: q.State, Limit: q.Limit, After: q.After})
	return plain(list), next, err
}

func (r storeTasks) Task(ctx context.Context, teamID, id string) (TaskDetail, error) {
	t, err := r.s.GetByID(ctx, teamID, id)
	if err != nil {
		return TaskDetail{}, err
	}
	events, err := r.s.Events(ctx, t.ID)
	if err != nil {
		return TaskDetail{}, err
	}
	d := TaskDetail{Task: t.Task, Result: a2a.ResultText(t.Snapshot)}
	for _, e := range events {
		var m struct{ Role string }
		_ = json.Unmarshal(e.Message, &m)
		d.Steps = append(d.Steps, TaskStep{At: e.At, State: e.State, Role: m.Role, Text: a2a.MessageText(e.Message)})
	}
	return d, nil
}

func (r storeTasks) FindTask(ctx context.Context, teamID, agent, taskID string) (attach.Task, error) {
	t, err := r.s.Get(ctx, teamID, agent, taskID)
	return t.Task, err
}

func (r storeTasks) TaskTree(ctx context.Context, teamID, id string) ([]attach.Task, error) {
	tree, err := r.s.Tree(ctx, teamID, id)
	return plain(tree), err
}

func plain(in []a2a.StoredTask) []attach.Task {
	out := make([]attach.Task, len(in))
	for i, t := range in {
		out[i] = t.Task
	}
	return out
}

func userMessage(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"kind": "message", "messageId": "m-" + text, "role": "user",
		"parts": []any{map[string]any{"kind": "text", "text": text}}})
	return b
}

func agentStatus(state, text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"kind": "status-update", "final": attach.TaskTerminal(state),
		"status": map[string]any{"state": state, "message": map[string]any{"kind": "message", "messageId": "a-" + text,
			"role": "agent", "parts": []any{map[string]any{"kind": "text", "text": text}}}}})
	return b
}

// hand records a task of team as the relay would: sent by the console user
// whose id is user (with the subject their console tokens carry), with its
// input, then in state (with a status message) when state is set.
func (te *taskEnv) hand(team attach.Team, agent, taskID, user, parent, input, state string) attach.Task {
	te.t.Helper()
	who := attach.Task{TeamID: team.ID, AgentName: agent, TaskID: taskID, User: attach.UserSubject(user), ParentID: parent}
	got, _, err := te.tasks.Apply(testCtx(te.t), a2a.Change{Task: who, Messages: []json.RawMessage{userMessage(input)}})
	if err != nil {
		te.t.Fatal(err)
	}
	if state == attach.TaskFailed {
		who.Reason = agent + " did not answer"
	}
	if state != "" {
		got, _, err = te.tasks.Apply(testCtx(te.t), a2a.Change{Task: who, Update: agentStatus(state, state+" says "+agent)})
		if err != nil {
			te.t.Fatal(err)
		}
	}
	return got.Task
}

var taskRowRE = regexp.MustCompile(`<tr id="task-([0-9a-f-]+)" data-testid="task-row"`)

func taskRows(p page) []string {
	var out []string
	for _, m := range taskRowRE.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func wantTaskRows(t *testing.T, p page, want ...attach.Task) {
	t.Helper()
	wantStatus(t, p, http.StatusOK)
	got := taskRows(p)
	var ids []string
	for _, w := range want {
		ids = append(ids, w.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("%s: rows %v, want %v", p.Request.URL, got, ids)
	}
}

func TestTasksWhoSeesWhat(t *testing.T) {
	te := newTaskEnv(t)
	alice, bob, vic, carol := te.user("alice"), te.user("bob"), te.user("vic"), te.user("carol")
	team := te.team("green", alice)
	te.member(team, bob, tenants.RoleMember)
	te.member(team, vic, tenants.RoleViewer)
	other := te.team("blue", carol)

	root := te.hand(team, "planner", "p-1", alice.ID, "", "plan it", attach.TaskWorking)
	child := te.hand(team, "coder", "c-1", alice.ID, root.ID, "code it", attach.TaskCompleted)
	bobs := te.hand(team, "coder", "c-2", bob.ID, "", "bob's work", attach.TaskFailed)
	theirs := te.hand(other, "coder", "x-1", carol.ID, "", "blue's work", attach.TaskCompleted)

	// The owner sees every task of the team, newest first, and the nav
	// links the page next to Agents.
	a := te.signedIn(alice)
	list := a.get(Base + "/t/green/tasks")
	wantTaskRows(t, list, bobs, child, root)
	wantContains(t, list, `id="nav-tasks"`, `aria-current="page"`, "User bob", "coder did not answer", `name="user"`)
	wantLacks(t, list, "x-1")
	wantStatus(t, a.get(Base+"/t/green/tasks/"+root.ID), http.StatusOK)

	// A member sees their own tasks only; another user's is not there.
	b := te.signedIn(bob)
	list = b.get(Base + "/t/green/tasks")
	wantTaskRows(t, list, bobs)
	wantLacks(t, list, `name="user"`)
	wantTaskRows(t, b.get(Base+"/t/green/tasks?user="+alice.ID), bobs) // the filter is not theirs to set
	for _, path := range []string{"/tasks/" + root.ID, "/tasks/" + root.ID + "/live", "/tasks/find?agent=planner&task=p-1"} {
		wantStatus(t, b.get(Base+"/t/green"+path), http.StatusNotFound)
	}
	wantStatus(t, b.get(Base+"/t/green/tasks/"+bobs.ID), http.StatusOK)
	wantTaskRows(t, te.signedIn(vic).get(Base+"/t/green/tasks"))

	// Another team's task is not found, by either of its ids; nor is a
	// team the user is not in.
	for _, path := range []string{"/t/green/tasks/" + theirs.ID, "/t/green/tasks/" + theirs.ID + "/live",
		"/t/green/tasks/find?agent=coder&task=x-1", "/t/blue/tasks", "/t/green/tasks/not-an-id"} {
		wantStatus(t, a.get(Base+path), http.StatusNotFound)
	}
}

func TestTasksFiltersAndPages(t *testing.T) {
	te := newTaskEnv(t)
	alice, bob := te.user("alice"), te.user("bob")
	team := te.team("green", alice)
	te.member(team, bob, tenants.RoleMember)
	var coder []attach.Task
	for i := range taskPageSize + 1 {
		coder = append(coder, te.hand(team, "coder", fmt.Sprintf("c-%02d", i), alice.ID, "", "work", attach.TaskCompleted))
	}
	planner := te.hand(team, "planner", "p-1", bob.ID, "", "plan", attach.TaskWorking)
	failed := te.hand(team, "coder", "c-failed", bob.ID, "", "break", attach.TaskFailed)

	a := te.signedIn(alice)
	wantTaskRows(t, a.get(Base+"/t/green/tasks?agent=planner"), planner)
	wantTaskRows(t, a.get(Base+"/t/green/tasks?state=failed"), failed)
	wantTaskRows(t, a.get(Base+"/t/green/tasks?user="+url.QueryEscape(attach.UserSubject(bob.ID))), failed, planner)
	wantTaskRows(t, a.get(Base+"/t/green/tasks?user="+url.QueryEscape(attach.UserSubject(bob.ID))+"&state=working&agent=planner"), planner)
	none := a.get(Base + "/t/green/tasks?agent=nobody")
	wantTaskRows(t, none)
	wantContains(t, none, "No tasks match", `id="clear-filters"`)

	// Pages keep the filters: the coder's tasks run over one page.
	first := a.get(Base + "/t/green/tasks?agent=coder&state=completed")
	if rows := taskRows(first); len(rows) != taskPageSize || rows[0] != coder[taskPageSize].ID {
		t.Fatalf("first page: %d rows", len(rows))
	}
	m := regexp.MustCompile(`href="([^"]+)" id="next-page"`).FindStringSubmatch(first.Body)
	if m == nil || !strings.Contains(m[1], "agent=coder") || !strings.Contains(m[1], "state=completed") {
		t.Fatalf("next link: %v", m)
	}
	wantTaskRows(t, a.get(strings.ReplaceAll(m[1], "&amp;", "&")), coder[0])

	// Bad filters are the user's, and say so.
	bad := a.get(Base + "/t/green/tasks?state=sleeping")
	wantStatus(t, bad, http.StatusBadRequest)
	wantContains(t, bad, "Choose one of the listed states")
	wantStatus(t, a.get(Base+"/t/green/tasks?agent=%01"), http.StatusBadRequest)
	wantStatus(t, a.get(Base+"/t/green/tasks?after=nope"), http.StatusBadRequest)
}

func TestTaskPageTreeAndStory(t *testing.T) {
	te := newTaskEnv(t)
	alice := te.user("alice")
	team := te.team("green", alice)
	root := te.hand(team, "planner", "p-1", alice.ID, "", "plan <script>alert(1)</script>", attach.TaskWorking)
	child := te.hand(team, "coder", "c-1", alice.ID, root.ID, "write the code", "")
	grandchild := te.hand(team, "linter", "l-1", alice.ID, child.ID, "lint it", attach.TaskCompleted)
	te.hand(team, "planner", "p-2", alice.ID, "", "another hand-off", "")

	a := te.signedIn(alice)
	p := a.get(Base + "/t/green/tasks/" + child.ID)
	wantStatus(t, p, http.StatusOK)
	// The tree from the root down, whichever task is shown; the shown one
	// is marked, the others link to their pages.
	nodes := regexp.MustCompile(`data-testid="task-node" data-depth="(\d)"`).FindAllStringSubmatch(p.Body, -1)
	if len(nodes) != 3 || nodes[0][1] != "0" || nodes[1][1] != "1" || nodes[2][1] != "2" {
		t.Fatalf("tree nodes = %v", nodes)
	}
	wantContains(t, p, `<strong aria-current="true">coder</strong>`,
		`href="/console/t/green/tasks/`+root.ID+`"`, `href="/console/t/green/tasks/`+grandchild.ID+`"`,
		`data-live-url="/console/t/green/tasks/`+child.ID+`/live"`, `data-running="true"`, "/static/tasks.js",
		"write the code", "submitted")
	wantLacks(t, p, "another hand-off", "p-2")

	// The story: the input, each state, the agent's messages, the result.
	done := a.get(Base + "/t/green/tasks/" + grandchild.ID)
	wantContains(t, done, "lint it", ">completed<", "completed says linter", `data-testid="task-result"`)
	wantLacks(t, done, `data-running`)
	// Everything the agent or user said is escaped.
	wantContains(t, a.get(Base+"/t/green/tasks/"+root.ID), "plan &lt;script&gt;alert(1)&lt;/script&gt;")

	// The live view: the state, whether it is over, and the same markup.
	live := a.get(Base + "/t/green/tasks/" + child.ID + "/live")
	wantStatus(t, live, http.StatusOK)
	if cc := live.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("live Cache-Control = %q", cc)
	}
	var got liveTask
	if err := json.Unmarshal([]byte(live.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != attach.TaskSubmitted || got.Terminal || !strings.Contains(got.HTML, "write the code") || !strings.Contains(got.HTML, `data-testid="task-tree"`) {
		t.Fatalf("live = %+v", got)
	}
	// The task moves on: the next poll shows it.
	if _, _, err := te.tasks.Apply(testCtx(t), a2a.Change{Task: attach.Task{TeamID: team.ID, AgentName: "coder", TaskID: "c-1"},
		Update: agentStatus(attach.TaskCompleted, "all written")}); err != nil {
		t.Fatal(err)
	}
	live = a.get(Base + "/t/green/tasks/" + child.ID + "/live")
	got = liveTask{}
	if err := json.Unmarshal([]byte(live.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != attach.TaskCompleted || !got.Terminal || !strings.Contains(got.HTML, "all written") {
		t.Fatalf("live after completion = %+v", got)
	}
	if strings.Contains(got.HTML, "<script>") {
		t.Error("live view carries an unescaped script")
	}
}

func TestFindTaskByAgentID(t *testing.T) {
	te := newTaskEnv(t)
	alice := te.user("alice")
	team := te.team("green", alice)
	task := te.hand(team, "coder", "agent's id/1", alice.ID, "", "hi", "")
	a := te.signedIn(alice)
	page := "/console/t/green/tasks/" + task.ID
	wantRedirect(t, a.get(Base+"/t/green/tasks/find?agent=coder&task=agent%27s+id%2F1"), page)

	req, _ := http.NewRequest(http.MethodGet, te.URL+Base+"/t/green/tasks/find?agent=coder&task=agent%27s+id%2F1", nil)
	req.Header.Set("Accept", "application/json")
	p := a.do(req)
	wantStatus(t, p, http.StatusOK)
	var found foundTask
	if err := json.Unmarshal([]byte(p.Body), &found); err != nil || found.URL != page || found.Live != page+"/live" {
		t.Fatalf("found = %+v %v", found, err)
	}
	for _, q := range []string{"agent=coder&task=other", "agent=planner&task=agent%27s+id%2F1", "agent=coder", "task=x"} {
		wantStatus(t, a.get(Base+"/t/green/tasks/find?"+q), http.StatusNotFound)
	}
}

func TestChatPageOffersHandOff(t *testing.T) {
	te := newTaskEnv(t)
	alice, vic := te.user("alice"), te.user("vic")
	team := te.team("green", alice)
	te.member(team, vic, tenants.RoleViewer)
	a := te.signedIn(alice)
	wantContains(t, a.get(Base+"/t/green/chat"), `id="handoff"`, "The team has no agents yet")

	if _, err := te.store.CreateAgent(testCtx(t), team.ID, tenants.AgentInput{Name: "coder", BaseURL: "http://127.0.0.1:1", Version: "0.3"}); err != nil {
		t.Fatal(err)
	}
	p := a.get(Base + "/t/green/chat")
	wantContains(t, p, `id="handoff-form"`, `<option value="coder">coder</option>`,
		`data-a2a-url="/t/green/a2a/"`, `data-find-url="/console/t/green/tasks/find"`, "/static/tasks.js")
	// Viewers cannot call the gateway, so they get no hand-off either.
	wantLacks(t, te.signedIn(vic).get(Base+"/t/green/chat"), `id="handoff-form"`)
}

func TestTasksOff(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	e.team("green", alice)
	a := e.signedIn(alice)
	wantContains(t, a.get(Base+"/t/green/tasks"), "This gateway keeps no tasks")
	wantStatus(t, a.get(Base+"/t/green/tasks/0190a1b2-0000-7000-8000-000000000000"), http.StatusNotFound)
}
