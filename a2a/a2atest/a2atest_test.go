package a2atest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
)

func userMessage(text string) *a2a.MessageSendParams {
	return &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: text})}
}

func nonBlocking(text string) *a2a.MessageSendParams {
	p := userMessage(text)
	blocking := false
	p.Config = &a2a.MessageSendConfig{Blocking: &blocking}
	return p
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendTask(t *testing.T, c *a2aclient.Client, params *a2a.MessageSendParams) *a2a.Task {
	t.Helper()
	res, err := c.SendMessage(testContext(t), params)
	if err != nil {
		t.Fatalf("send %q: %v", messageText(params.Message), err)
	}
	task, ok := res.(*a2a.Task)
	if !ok {
		t.Fatalf("send %q: got %T, want a task", messageText(params.Message), res)
	}
	return task
}

// headerInterceptor adds headers to every call, as a gateway would.
type headerInterceptor struct {
	a2aclient.PassthroughInterceptor
	headers map[string]string
}

func (h headerInterceptor) Before(ctx context.Context, req *a2aclient.Request) (context.Context, error) {
	for k, v := range h.headers {
		req.Meta[k] = []string{v}
	}
	return ctx, nil
}

func TestAgent03Card(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.CardURL, "")
	card, err := c.GetAgentCard(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if card.ProtocolVersion != "0.3.0" || card.URL != agent.URL || len(card.Skills) == 0 {
		t.Errorf("card = version %q url %q skills %d; want 0.3.0, %s, some", card.ProtocolVersion, card.URL, len(card.Skills), agent.URL)
	}
}

func TestAgent03Send(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.URL, "secret")

	task := sendTask(t, c, userMessage("echo hi there"))
	if task.Status.State != a2a.TaskStateCompleted || ArtifactText(task) != "hi there" {
		t.Errorf("echo: state %s artifact %q; want completed, %q", task.Status.State, ArtifactText(task), "hi there")
	}

	got, err := c.GetTask(testContext(t), &a2a.TaskQueryParams{ID: task.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != task.ID || got.Status.State != a2a.TaskStateCompleted {
		t.Errorf("get: %s %s; want %s completed", got.ID, got.Status.State, task.ID)
	}

	failed := sendTask(t, c, userMessage("fail"))
	if failed.Status.State != a2a.TaskStateFailed || messageText(failed.Status.Message) == "" {
		t.Errorf("fail: state %s message %v; want failed with a message", failed.Status.State, failed.Status.Message)
	}

	res, err := c.SendMessage(testContext(t), userMessage("message hello"))
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := res.(*a2a.Message); !ok || messageText(msg) != "hello" {
		t.Errorf("message: got %#v; want a Message with hello", res)
	}

	if _, err := c.GetTask(testContext(t), &a2a.TaskQueryParams{ID: "no-such-task"}); err == nil {
		t.Error("get of an unknown task: no error")
	}
}

func TestAgent03Headers(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.URL, "secret")
	c.AddCallInterceptor(headerInterceptor{headers: map[string]string{"X-Attach-Team": "team-a", "X-Other": "no"}})

	task := sendTask(t, c, userMessage("headers"))
	var report HeaderReport
	if err := json.Unmarshal([]byte(ArtifactText(task)), &report); err != nil {
		t.Fatalf("headers answer %q: %v", ArtifactText(task), err)
	}
	if !report.Authorization || report.Headers["x-attach-team"] != "team-a" || len(report.Headers) != 1 {
		t.Errorf("report = %+v; want authorization and only x-attach-team: team-a", report)
	}
	if h := agent.LastHeaders(t); h.Get("Authorization") != "Bearer secret" || h.Get("X-Attach-Team") != "team-a" {
		t.Errorf("last headers = %v", h)
	}
}

func TestAgent03Stream(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.URL, "")
	var working int
	var last a2a.Event
	for ev, err := range c.SendStreamingMessage(testContext(t), userMessage("slow 3")) {
		if err != nil {
			t.Fatal(err)
		}
		if su, ok := ev.(*a2a.TaskStatusUpdateEvent); ok && su.Status.State == a2a.TaskStateWorking {
			working++
		}
		last = ev
	}
	su, ok := last.(*a2a.TaskStatusUpdateEvent)
	if working < 3 || !ok || !su.Final || su.Status.State != a2a.TaskStateCompleted {
		t.Errorf("stream: %d working updates, last %#v; want 3 and a final completed update", working, last)
	}
}

func TestAgent03CancelAndResubscribe(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.URL, "")

	task := sendTask(t, c, nonBlocking("wait"))
	if task.Status.State.Terminal() {
		t.Fatalf("wait: state %s; want a running task", task.Status.State)
	}

	// A subscriber sees the cancel end the task. It subscribes through a
	// recorder, which tells when its request has arrived.
	rec := newRecorder(t, agent.URL)
	sc := Client03(t, rec.srv.URL, "")
	done := make(chan []a2a.Event)
	go func() {
		var events []a2a.Event
		for ev, err := range sc.ResubscribeToTask(testContext(t), &a2a.TaskIDParams{ID: task.ID}) {
			if err != nil {
				break
			}
			events = append(events, ev)
		}
		done <- events
	}()
	rec.waitStarted("resubscribe")
	time.Sleep(200 * time.Millisecond) // let the agent attach the subscriber

	canceled, err := c.CancelTask(testContext(t), &a2a.TaskIDParams{ID: task.ID})
	if err != nil {
		t.Fatal(err)
	}
	if canceled.Status.State != a2a.TaskStateCanceled {
		t.Errorf("cancel: state %s; want canceled", canceled.Status.State)
	}
	events := <-done
	if len(events) == 0 {
		t.Fatal("resubscribe: no events")
	}
	if su, ok := events[len(events)-1].(*a2a.TaskStatusUpdateEvent); !ok || su.Status.State != a2a.TaskStateCanceled {
		t.Errorf("resubscribe: last event %#v; want canceled", events[len(events)-1])
	}

	got, err := c.GetTask(testContext(t), &a2a.TaskQueryParams{ID: task.ID})
	if err != nil || got.Status.State != a2a.TaskStateCanceled {
		t.Errorf("get after cancel: %v, %v; want canceled", got, err)
	}
}

func TestAgent03ResubscribeSlow(t *testing.T) {
	agent := StartAgent03(t)
	c := Client03(t, agent.URL, "")
	task := sendTask(t, c, nonBlocking("slow 5"))
	var last a2a.Event
	n := 0
	for ev, err := range c.ResubscribeToTask(testContext(t), &a2a.TaskIDParams{ID: task.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		last = ev
	}
	if su, ok := last.(*a2a.TaskStatusUpdateEvent); n < 2 || !ok || su.Status.State != a2a.TaskStateCompleted {
		t.Errorf("resubscribe: %d events, last %#v; want several ending completed", n, last)
	}
}

// wireTask is the part of a 1.0 Task the tests look at.
type wireTask struct {
	ID     string `json:"id"`
	Status struct {
		State   string `json:"state"`
		Message *struct {
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"message"`
	} `json:"status"`
	Artifacts []struct {
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"artifacts"`
}

func (w wireTask) artifactText() string {
	var b strings.Builder
	for _, a := range w.Artifacts {
		for _, p := range a.Parts {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func js10(t *testing.T, url, bearer string, op JS10) JS10Result {
	t.Helper()
	res := RunJS10(t, url, bearer, op)
	if res.Error != nil {
		t.Fatalf("1.0 client %s %q: %s: %s", op.Op, op.Text, res.Error.Name, res.Error.Message)
	}
	return res
}

func TestAgent10Card(t *testing.T) {
	agent := StartAgent10(t)
	res := js10(t, agent.URL, "", JS10{Op: "card"})
	card := decode[struct {
		SupportedInterfaces []struct {
			URL, ProtocolBinding, ProtocolVersion string
		} `json:"supportedInterfaces"`
		Skills []any `json:"skills"`
	}](t, res.Result)
	if len(card.SupportedInterfaces) != 1 || card.SupportedInterfaces[0].URL != agent.URL ||
		card.SupportedInterfaces[0].ProtocolVersion != "1.0" || len(card.Skills) == 0 {
		t.Errorf("card = %s", res.Result)
	}
}

func TestAgent10Send(t *testing.T) {
	agent := StartAgent10(t)
	// One node process for all, as starting node is the slow part.
	res := RunJS10Steps(t, agent.URL, "secret",
		JS10{Op: "send", Text: "echo hi there"},
		JS10{Op: "get", TaskID: "$task"},
		JS10{Op: "send", Text: "fail"},
		JS10{Op: "send", Text: "message hello"},
		JS10{Op: "list"},
		JS10{Op: "get", TaskID: "no-such-task"},
	)
	for i, r := range res[:5] {
		if r.Error != nil {
			t.Fatalf("step %d: %s: %s", i, r.Error.Name, r.Error.Message)
		}
	}

	task := decode[struct{ Task wireTask }](t, res[0].Result).Task
	if task.Status.State != "TASK_STATE_COMPLETED" || task.artifactText() != "hi there" {
		t.Errorf("echo: %s", res[0].Result)
	}

	if got := decode[wireTask](t, res[1].Result); got.ID != task.ID || got.Status.State != "TASK_STATE_COMPLETED" {
		t.Errorf("get: %+v", got)
	}

	if failed := decode[struct{ Task wireTask }](t, res[2].Result).Task; failed.Status.State != "TASK_STATE_FAILED" || failed.Status.Message == nil {
		t.Errorf("fail: %+v", failed)
	}

	msg := decode[struct {
		Message *struct {
			Role  string
			Parts []struct{ Text string }
		}
	}](t, res[3].Result).Message
	if msg == nil || msg.Role != "ROLE_AGENT" || len(msg.Parts) != 1 || msg.Parts[0].Text != "hello" {
		t.Errorf("message: %+v", msg)
	}

	if list := decode[struct{ Tasks []wireTask }](t, res[4].Result); len(list.Tasks) != 2 {
		t.Errorf("list: %d tasks; want 2", len(list.Tasks))
	}

	if res[5].Error == nil || res[5].Error.Name != "TaskNotFoundError" {
		t.Errorf("get of an unknown task: %+v; want TaskNotFoundError", res[5].Error)
	}
}

func TestAgent10Headers(t *testing.T) {
	agent := StartAgent10(t)
	res := js10(t, agent.URL, "secret", JS10{Op: "send", Text: "headers", Headers: map[string]string{"X-Attach-Team": "team-a", "X-Other": "no"}})
	task := decode[struct{ Task wireTask }](t, res.Result).Task
	var report HeaderReport
	if err := json.Unmarshal([]byte(task.artifactText()), &report); err != nil {
		t.Fatalf("headers answer %q: %v", task.artifactText(), err)
	}
	if !report.Authorization || report.Headers["x-attach-team"] != "team-a" || len(report.Headers) != 1 {
		t.Errorf("report = %+v; want authorization and only x-attach-team: team-a", report)
	}
	if h := agent.LastHeaders(t); h.Get("Authorization") != "Bearer secret" || h.Get("X-Attach-Team") != "team-a" {
		t.Errorf("last headers = %v", h)
	}
}

// eventState is the task state an event of a 1.0 stream carries, if any.
func eventState(t *testing.T, raw json.RawMessage) (kind, state string) {
	ev := decode[map[string]wireTask](t, raw)
	for k, v := range ev {
		return k, v.Status.State
	}
	return "", ""
}

func TestAgent10Stream(t *testing.T) {
	agent := StartAgent10(t)
	res := js10(t, agent.URL, "", JS10{Op: "stream", Text: "slow 3"})
	working := 0
	for _, ev := range res.Events {
		if kind, state := eventState(t, ev); kind == "statusUpdate" && state == "TASK_STATE_WORKING" {
			working++
		}
	}
	kind, state := eventState(t, res.Events[len(res.Events)-1])
	if working < 3 || kind != "statusUpdate" || state != "TASK_STATE_COMPLETED" {
		t.Errorf("stream: %d working updates, last %s %s; want 3 and a completed update", working, kind, state)
	}
}

func TestAgent10CancelAndSubscribe(t *testing.T) {
	agent := StartAgent10(t)
	task := decode[struct{ Task wireTask }](t, js10(t, agent.URL, "", JS10{Op: "send-nonblocking", Text: "wait"}).Result).Task
	if task.ID == "" || task.Status.State == "TASK_STATE_COMPLETED" || task.Status.State == "TASK_STATE_CANCELED" {
		t.Fatalf("wait: %+v; want a running task", task)
	}

	// A subscriber sees the cancel end the task. It subscribes through a
	// recorder, which tells when its answer begins.
	rec := newRecorder(t, agent.URL)
	var sub JS10Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub = RunJS10(t, rec.srv.URL, "", JS10{Op: "subscribe", TaskID: task.ID})
	}()
	// The 1.0 agent sends the task first, once the subscriber is attached.
	rec.waitAnswering("resubscribe")

	canceled := decode[wireTask](t, js10(t, agent.URL, "", JS10{Op: "cancel", TaskID: task.ID}).Result)
	if canceled.Status.State != "TASK_STATE_CANCELED" {
		t.Errorf("cancel: %+v", canceled)
	}
	<-done
	if sub.Error != nil || len(sub.Events) == 0 {
		t.Fatalf("subscribe: %+v", sub)
	}
	if kind, state := eventState(t, sub.Events[len(sub.Events)-1]); kind != "statusUpdate" || state != "TASK_STATE_CANCELED" {
		t.Errorf("subscribe: last event %s %s; want a canceled update", kind, state)
	}
}

func TestAgent10SubscribeSlow(t *testing.T) {
	agent := StartAgent10(t)
	res := RunJS10Steps(t, agent.URL, "",
		JS10{Op: "send-nonblocking", Text: "slow 5"},
		JS10{Op: "subscribe", TaskID: "$task"},
	)
	task := decode[struct{ Task wireTask }](t, res[0].Result).Task
	sub := res[1]
	if sub.Error != nil || len(sub.Events) < 2 {
		t.Fatalf("subscribe: %+v", sub)
	}
	if id := decode[map[string]struct{ ID string }](t, sub.Events[0])["task"].ID; id != task.ID {
		t.Errorf("subscribe: first event of task %q; want %q", id, task.ID)
	}
	if kind, state := eventState(t, sub.Events[len(sub.Events)-1]); kind != "statusUpdate" || state != "TASK_STATE_COMPLETED" {
		t.Errorf("subscribe: last event %s %s; want a completed update", kind, state)
	}
}

func TestJS10Steps(t *testing.T) {
	agent := StartAgent10(t)
	res := RunJS10Steps(t, agent.URL, "secret",
		JS10{Op: "send-nonblocking", Text: "wait", Headers: map[string]string{"X-Attach-Team": "team-a"}},
		JS10{Op: "cancel", TaskID: "$task"},
		JS10{Op: "get", TaskID: "$task"},
		JS10{Op: "get", TaskID: "no-such-task"},
		JS10{Op: "send", Text: "headers", Headers: map[string]string{"X-Attach-Agent": "b"}},
	)
	if len(res) != 5 {
		t.Fatalf("%d results; want 5", len(res))
	}
	if got := decode[wireTask](t, res[2].Result); got.Status.State != "TASK_STATE_CANCELED" {
		t.Errorf("get after cancel: %s", res[2].Result)
	}
	if res[3].Error == nil || res[3].Error.Name != "TaskNotFoundError" {
		t.Errorf("get of an unknown task: %+v", res[3])
	}
	// Each step sends its own headers, and only those.
	var report HeaderReport
	text := decode[struct{ Task wireTask }](t, res[4].Result).Task.artifactText()
	if err := json.Unmarshal([]byte(text), &report); err != nil {
		t.Fatalf("headers answer %q: %v", text, err)
	}
	if !report.Authorization || len(report.Headers) != 1 || report.Headers["x-attach-agent"] != "b" {
		t.Errorf("report = %+v; want authorization and only x-attach-agent: b", report)
	}
}

// TestClientsBelowAPath drives both agents through a proxy that serves them
// below a path, as the gateway's routes do, and names that path in the card.
func TestClientsBelowAPath(t *testing.T) {
	const route = "/t/team-a/a2a/agent"
	t.Run("v03", func(t *testing.T) {
		rec := newPrefixedRecorder(t, StartAgent03(t).URL, route)
		rec.next("send")
		c := Client03(t, rec.URL(), "")
		if task := sendTask(t, c, userMessage("echo hi")); ArtifactText(task) != "hi" {
			t.Errorf("echo: %q", ArtifactText(task))
		}
		if rec.count("send") != 1 || rec.count("card") != 1 {
			t.Errorf("requests through the proxy: %d sends, %d cards; want 1 each", rec.count("send"), rec.count("card"))
		}
	})
	t.Run("v10", func(t *testing.T) {
		rec := newPrefixedRecorder(t, StartAgent10(t).URL, route)
		rec.next("send")
		res := js10(t, rec.URL(), "", JS10{Op: "send", Text: "echo hi"})
		if task := decode[struct{ Task wireTask }](t, res.Result).Task; task.artifactText() != "hi" {
			t.Errorf("echo: %s", res.Result)
		}
		if rec.count("send") != 1 || rec.count("card") != 1 {
			t.Errorf("requests through the proxy: %d sends, %d cards; want 1 each", rec.count("send"), rec.count("card"))
		}
	})
}

// TestAgentsStopWithRunningTasks ends tests that leave a `wait` task
// running with a client still streaming it: the agents must stop anyway.
func TestAgentsStopWithRunningTasks(t *testing.T) {
	streamDone := make(chan struct{})
	start := time.Now()
	t.Run("v03", func(t *testing.T) {
		c := Client03(t, StartAgent03(t).URL, "")
		running := make(chan struct{})
		go func() {
			defer close(streamDone)
			first := true
			for _, err := range c.SendStreamingMessage(context.Background(), userMessage("wait")) {
				if err != nil {
					break
				}
				if first {
					close(running)
					first = false
				}
			}
			if first {
				close(running)
			}
		}()
		<-running
	})
	<-streamDone
	t.Run("v10", func(t *testing.T) {
		agent := StartAgent10(t)
		js10(t, agent.URL, "", JS10{Op: "send-nonblocking", Text: "wait"})
	})
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("stopping took %s", d)
	}
}
