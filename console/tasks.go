package console

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// The team's A2A tasks: every hand-off its callers made through the
// gateway, and one task's tree and story, which follow the task live while
// it runs. Who sees what follows the memory pages: owners and admins see
// every user's tasks, members and viewers their own.

// TaskReader is what the tasks pages read. The app serves it from the A2A
// task store; every method is scoped to one team, and another team's task
// is not found.
type TaskReader interface {
	ListTasks(ctx context.Context, f TaskQuery) (tasks []attach.Task, next string, err error)
	// Task is one task by the gateway's id, with its story and result.
	Task(ctx context.Context, teamID, id string) (TaskDetail, error)
	// FindTask is a task by its agent and the agent's id for it.
	FindTask(ctx context.Context, teamID, agent, taskID string) (attach.Task, error)
	// TaskTree is the hand-off a task belongs to: its root first, then
	// every descendant, parents before their children.
	TaskTree(ctx context.Context, teamID, id string) ([]attach.Task, error)
}

// TaskQuery chooses the tasks ListTasks returns; empty fields do not filter.
type TaskQuery struct {
	TeamID, Agent, User, State string
	Limit                      int
	After                      string // the previous page's cursor
}

// TaskDetail is a task with what happened to it.
type TaskDetail struct {
	Task   attach.Task
	Steps  []TaskStep
	Result string // the final artifacts' text, or the last status message's
}

// TaskStep is one entry of a task's story: a state entered, a message, or
// both.
type TaskStep struct {
	At    time.Time
	State string
	Role  string // of the message: "user" or "agent"
	Text  string
}

const taskPageSize = 50

// taskStates are the states the filter offers, in the order a task goes
// through them.
var taskStates = []string{
	attach.TaskSubmitted, attach.TaskWorking, attach.TaskInputRequired, attach.TaskAuthRequired,
	attach.TaskCompleted, attach.TaskFailed, attach.TaskCanceled, attach.TaskRejected, attach.TaskUnknown,
}

// taskFilters are what the list is narrowed to, as the URL carries them.
// User is empty for someone who sees only their own tasks.
type taskFilters struct {
	State, Agent, User string
}

func (f taskFilters) any() bool { return f.State != "" || f.Agent != "" || f.User != "" }

// link is the tasks list of team slug with these filters, and after as
// the page cursor when set.
func (f taskFilters) link(slug, after string) string {
	q := url.Values{}
	for _, kv := range [][2]string{{"state", f.State}, {"agent", f.Agent}, {"user", f.User}, {"after", after}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	path := teamURL(slug, "/tasks")
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func readTaskFilters(fc *fiber.Ctx, all bool) (taskFilters, formErrors) {
	f := taskFilters{
		State: strings.TrimSpace(fc.Query("state")),
		Agent: strings.TrimSpace(fc.Query("agent")),
	}
	if all {
		f.User = strings.TrimSpace(fc.Query("user"))
	}
	errs := formErrors{}
	if f.State != "" && !slices.Contains(taskStates, f.State) {
		errs.add("state", "Choose one of the listed states")
	}
	for _, c := range []struct{ field, value string }{{"agent", f.Agent}, {"user", f.User}} {
		if msg := checkFilterText(c.value, maxFilterText); msg != "" {
			errs.add(c.field, msg)
		}
	}
	return f, errs
}

type tasksView struct {
	Off     bool // the gateway keeps no tasks
	All     bool // the viewer sees every user's tasks
	Filters taskFilters
	Errors  formErrors
	Problem string
	Tasks   []attach.Task
	Next    string
	Paged   bool
	Names   map[string]string // members' names by user id
}

func (c *Console) tasksPage(fc *fiber.Ctx) error {
	ch := c.teamChrome(fc, "Tasks", "tasks")
	if c.tasks == nil {
		return render(fc, fiber.StatusOK, tasksPage(ch, tasksView{Off: true}))
	}
	ctx := fc.UserContext()
	t, self := current(fc), me(fc).user
	v := tasksView{All: needAllMemory(t.role)}
	v.Filters, v.Errors = readTaskFilters(fc, v.All)
	if len(v.Errors) > 0 {
		v.Problem = "Some filters are not valid; fix them and try again."
		return render(fc, fiber.StatusBadRequest, tasksPage(ch, v))
	}
	q := TaskQuery{TeamID: t.team.ID, Agent: v.Filters.Agent, User: v.Filters.User, State: v.Filters.State,
		Limit: taskPageSize, After: fc.Query("after")}
	if !v.All {
		q.User = attach.UserSubject(self.ID)
	}
	v.Paged = q.After != ""
	var err error
	if v.Tasks, v.Next, err = c.tasks.ListTasks(ctx, q); err != nil {
		return c.listFail(fc, "list tasks", err)
	}
	if v.Names, err = c.memberNames(ctx, t.team.ID, self, v.All); err != nil {
		return c.storeFail(fc, "list members", err)
	}
	return render(fc, fiber.StatusOK, tasksPage(ch, v))
}

// taskView is one task's page, and the part of it that follows the task.
type taskView struct {
	Detail TaskDetail
	Tree   []taskNode
	Names  map[string]string
	Live   string // the URL the page polls while the task runs
}

// taskNode is a task of the tree, at its depth below the root. Hidden is
// another user's task in a tree shown to someone who sees only their own.
type taskNode struct {
	Task     attach.Task
	Depth    int
	Selected bool
	Hidden   bool
}

// loadTask reads the task of the URL with its tree, or says it is not
// there: another team's, or another user's for someone who sees only
// their own, is as unknown as a missing one.
func (c *Console) loadTask(fc *fiber.Ctx) (taskView, error) {
	if c.tasks == nil {
		return taskView{}, attach.NotFound("task")
	}
	ctx := fc.UserContext()
	t, self := current(fc), me(fc).user
	all := needAllMemory(t.role)
	d, err := c.tasks.Task(ctx, t.team.ID, fc.Params("id"))
	if err != nil {
		return taskView{}, err
	}
	if !all && d.Task.User != attach.UserSubject(self.ID) {
		return taskView{}, attach.NotFound("task")
	}
	tree, err := c.tasks.TaskTree(ctx, t.team.ID, d.Task.ID)
	if err != nil {
		return taskView{}, err
	}
	names, err := c.memberNames(ctx, t.team.ID, self, all)
	if err != nil {
		return taskView{}, err
	}
	v := taskView{Detail: d, Names: names, Live: teamURL(t.team.Slug, "/tasks/"+d.Task.ID+"/live")}
	v.Tree = treeNodes(tree, d.Task.ID, func(n attach.Task) bool { return all || n.User == attach.UserSubject(self.ID) })
	return v, nil
}

// treeNodes orders a tree depth first from its root, each node at its
// depth. The root is the first task whose parent is not in the tree.
func treeNodes(tasks []attach.Task, selected string, visible func(attach.Task) bool) []taskNode {
	in := make(map[string]bool, len(tasks))
	children := map[string][]attach.Task{}
	for _, t := range tasks {
		in[t.ID] = true
	}
	var roots []attach.Task
	for _, t := range tasks {
		if t.ParentID != "" && in[t.ParentID] {
			children[t.ParentID] = append(children[t.ParentID], t)
		} else {
			roots = append(roots, t)
		}
	}
	var out []taskNode
	seen := map[string]bool{}
	var walk func(t attach.Task, depth int)
	walk = func(t attach.Task, depth int) {
		if seen[t.ID] {
			return
		}
		seen[t.ID] = true
		out = append(out, taskNode{Task: t, Depth: depth, Selected: t.ID == selected, Hidden: !visible(t)})
		for _, ch := range children[t.ID] {
			walk(ch, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

func (c *Console) taskPage(fc *fiber.Ctx) error {
	v, err := c.loadTask(fc)
	if err != nil {
		return c.storeFail(fc, "read task", err)
	}
	ch := c.teamChrome(fc, "Task "+shortID(v.Detail.Task.TaskID), "tasks")
	ch.Scripts = []string{"/static/tasks.js"}
	return render(fc, fiber.StatusOK, taskPage(ch, v))
}

// liveTask is what the task page's script polls: the task's state and its
// tree and story, rendered here so that the page and its updates are the
// same markup, escaped the same way.
type liveTask struct {
	State    string `json:"state"`
	Terminal bool   `json:"terminal"`
	HTML     string `json:"html"`
}

func (c *Console) taskLive(fc *fiber.Ctx) error {
	v, err := c.loadTask(fc)
	if err != nil {
		return c.storeFail(fc, "read task", err)
	}
	var b bytes.Buffer
	if err := taskLiveView(current(fc).team.Slug, v).Render(fc.UserContext(), &b); err != nil {
		return c.internal(fc, "render task", err)
	}
	// A running task changes between polls: never serve a stored copy.
	fc.Set(fiber.HeaderCacheControl, "no-store")
	return writeJSON(fc, fiber.StatusOK, liveTask{
		State: v.Detail.Task.State, Terminal: attach.TaskTerminal(v.Detail.Task.State), HTML: b.String(),
	})
}

// findTask sends the browser to the page of a task named as its agent
// knows it, which is all an A2A client (the demo chat page) learns.
func (c *Console) findTask(fc *fiber.Ctx) error {
	if c.tasks == nil {
		return c.notFound(fc)
	}
	t, self := current(fc), me(fc).user
	agent, id := strings.TrimSpace(fc.Query("agent")), strings.TrimSpace(fc.Query("task"))
	if checkFilterText(agent, maxFilterText) != "" || checkFilterText(id, maxFilterText) != "" || agent == "" || id == "" {
		return c.notFound(fc)
	}
	task, err := c.tasks.FindTask(fc.UserContext(), t.team.ID, agent, id)
	if err != nil {
		return c.storeFail(fc, "find task", err)
	}
	if !needAllMemory(t.role) && task.User != attach.UserSubject(self.ID) {
		return c.notFound(fc)
	}
	page := teamURL(t.team.Slug, "/tasks/"+task.ID)
	if wantsJSON(fc) {
		return writeJSON(fc, fiber.StatusOK, foundTask{URL: page, Live: page + "/live"})
	}
	return seeOther(fc, page)
}

// foundTask is where a script finds a task's page and its live view.
type foundTask struct {
	URL  string `json:"url"`
	Live string `json:"live"`
}

// taskUser names a task's user: a member by name, anyone else as the
// gateway recorded them.
func taskUser(names map[string]string, t attach.Task) string {
	if n, ok := names[t.User]; ok {
		return n
	}
	return orDash(t.User)
}

func taskTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// stateClass is the status badge's style of a state.
func stateClass(state string) string {
	switch state {
	case attach.TaskCompleted:
		return "status active"
	case attach.TaskFailed, attach.TaskRejected, attach.TaskCanceled:
		return "status bad"
	}
	return "status waiting"
}
