package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/jackc/pgx/v5/pgxpool"
)

// handOff sends goal to the planner through the gateway as the demo's user,
// with the a2a-go client (A2A 0.3), and returns the planner's task.
func handOff(ctx context.Context, agentURL, key, goal string) (*a2a.Task, error) {
	httpClient := &http.Client{Transport: bearer{key}, Timeout: 5 * time.Minute}
	client, err := a2aclient.NewFromEndpoints(ctx,
		[]a2a.AgentInterface{{Transport: a2a.TransportProtocolJSONRPC, URL: agentURL}},
		a2aclient.WithJSONRPCTransport(httpClient))
	if err != nil {
		return nil, fmt.Errorf("a2a client: %w", err)
	}
	defer client.Destroy()
	res, err := client.SendMessage(ctx, &a2a.MessageSendParams{
		Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: goal}),
	})
	if err != nil {
		return nil, fmt.Errorf("message/send to the planner: %w", err)
	}
	task, ok := res.(*a2a.Task)
	if !ok {
		return nil, fmt.Errorf("the planner answered %T, not a task", res)
	}
	return task, nil
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// artifactText is the text of a task's artifacts.
func artifactText(t *a2a.Task) string {
	var b strings.Builder
	for _, a := range t.Artifacts {
		for _, p := range a.Parts {
			if tp, ok := p.(a2a.TextPart); ok {
				b.WriteString(tp.Text)
			}
		}
	}
	if b.Len() == 0 && t.Status.Message != nil {
		for _, p := range t.Status.Message.Parts {
			if tp, ok := p.(a2a.TextPart); ok {
				b.WriteString(tp.Text)
			}
		}
	}
	return b.String()
}

// taskNode is one task of the tree as the gateway recorded it.
type taskNode struct {
	depth                                  int
	id, agent, taskID, state, user, reason string
	states                                 []string
}

// printTree prints the tree of tasks under the planner's, as the gateway
// recorded it in Postgres (tables tasks and task_events), with each task's
// state changes.
func printTree(ctx context.Context, w io.Writer, dsn, plannerTask string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open the gateway's database: %w", err)
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, `
		WITH RECURSIVE tree AS (
			SELECT id, 0 AS depth FROM tasks WHERE agent_name = 'planner' AND task_id = $1
			UNION ALL
			SELECT t.id, tree.depth + 1 FROM tasks t JOIN tree ON t.parent_id = tree.id
		)
		SELECT t.id::text, tree.depth, t.agent_name, t.task_id, t.state, t.user_sub, t.reason
		FROM tree JOIN tasks t USING (id) ORDER BY tree.depth, t.created_at`, plannerTask)
	if err != nil {
		return fmt.Errorf("read the task tree: %w", err)
	}
	var nodes []*taskNode
	for rows.Next() {
		n := &taskNode{}
		if err := rows.Scan(&n.id, &n.depth, &n.agent, &n.taskID, &n.state, &n.user, &n.reason); err != nil {
			return fmt.Errorf("read the task tree: %w", err)
		}
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the task tree: %w", err)
	}
	for _, n := range nodes {
		srows, err := pool.Query(ctx, `SELECT state FROM task_events WHERE task = $1 AND state <> '' ORDER BY id`, n.id)
		if err != nil {
			return fmt.Errorf("read task events: %w", err)
		}
		for srows.Next() {
			var s string
			if err := srows.Scan(&s); err != nil {
				srows.Close()
				return fmt.Errorf("read task events: %w", err)
			}
			n.states = append(n.states, s)
		}
		srows.Close()
	}
	fmt.Fprintln(w, "Task tree (the gateway's Postgres: tables tasks, task_events):")
	for _, n := range nodes {
		indent := strings.Repeat("    ", n.depth)
		fmt.Fprintf(w, "  %s%s %-8s %-10s user %s\n", indent, branch(n.depth), n.agent, n.state, n.user)
		fmt.Fprintf(w, "  %s    hand-off %s, agent's task %s\n", indent, n.id, n.taskID)
		if len(n.states) > 0 {
			fmt.Fprintf(w, "  %s    states: %s\n", indent, strings.Join(n.states, " → "))
		}
		if n.reason != "" {
			fmt.Fprintf(w, "  %s    reason: %s\n", indent, n.reason)
		}
	}
	if len(nodes) < 2 {
		fmt.Fprintln(w, "  (no child task: the planner did not reach the coder)")
	}
	return nil
}

func branch(depth int) string {
	if depth == 0 {
		return "●"
	}
	return "└─"
}

type memEvent struct {
	ID, Kind, Role, User, Model, Content string
}

// printMemory prints the memory events filed under a task, as the demo's
// user reads them through the gateway: GET /mem/events?task=ID. The
// task's result is mirrored into memory just after its answer: it waits a
// moment for it.
func printMemory(ctx context.Context, w io.Writer, gateway, key, label, taskID string) error {
	var page struct{ Events []memEvent }
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		page.Events, err = memoryOf(ctx, gateway, key, taskID)
		if err != nil {
			return err
		}
		if hasKind(page.Events, "task_result") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(w, "Memory of the %s's task (GET /mem/events?task=%s), newest first:\n", label, taskID)
	for _, e := range page.Events {
		fmt.Fprintf(w, "  %-11s %-6s %s\n", e.Kind, e.Role, oneLine(e.Content, 90))
	}
	if len(page.Events) == 0 {
		fmt.Fprintln(w, "  (none yet)")
	}
	return nil
}

func hasKind(events []memEvent, kind string) bool {
	for _, e := range events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// memoryOf reads the events filed under a task.
func memoryOf(ctx context.Context, gateway, key, taskID string) ([]memEvent, error) {
	return memoryQuery(ctx, gateway, key, "task="+url.QueryEscape(taskID))
}

// memoryQuery reads the user's events that match query.
func memoryQuery(ctx context.Context, gateway, key, query string) ([]memEvent, error) {
	u := gateway + "/mem/events?" + query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("read memory: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read memory: HTTP %d", resp.StatusCode)
	}
	var page struct{ Events []memEvent }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("read memory: %w", err)
	}
	return page.Events, nil
}

// oneLine shortens text to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// printChat prints the coder's exchange with the engine as the gateway
// recorded it in the user's memory: the user it names is the one the
// engine was told (X-Attach-User).
func printChat(ctx context.Context, w io.Writer, gateway, key string) error {
	fmt.Fprintln(w, "The coder's chat with the engine, recorded in the user's memory (GET /mem/events?kind=...):")
	for _, kind := range []string{"prompt", "response"} {
		events, err := memoryQuery(ctx, gateway, key, "kind="+kind+"&limit=1")
		if err != nil {
			return err
		}
		for _, e := range events {
			fmt.Fprintf(w, "  %-8s model %s, user %s: %s\n", e.Kind, e.Model, e.User, oneLine(e.Content, 70))
		}
	}
	return nil
}
