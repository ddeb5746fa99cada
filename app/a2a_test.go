package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	a2ago "github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/attach-dev/attach-gateway/a2a"
	"github.com/attach-dev/attach-gateway/a2a/a2atest"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
)

// registerAgent adds an agent to the team, with its card fetched, and
// waits until the gateway's directory serves it.
func registerAgent(t *testing.T, gw *gateway, slug, name, url, credential string) {
	t.Helper()
	ctx := context.Background()
	team, ok := gw.dir.Team(slug)
	if !ok {
		t.Fatalf("no team %s", slug)
	}
	in := tenants.AgentInput{Name: name, BaseURL: url, Version: "auto"}
	if credential != "" {
		in.Credential = &credential
	}
	ag, err := gw.store.CreateAgent(ctx, team.Team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	card, err := a2a.FetchCard(ctx, http.DefaultClient, url, credential)
	fetchErr := ""
	if err != nil {
		fetchErr = err.Error()
	}
	if _, err := gw.store.SetAgentCard(ctx, team.Team.ID, ag.ID, card.Raw, card.Version, fetchErr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agent "+name+" in the directory", func() bool {
		s, _ := gw.dir.Team(slug)
		a, ok := s.Agent(name)
		return ok && (a.CardVersion != "" || a.CardError != "")
	})
}

// a2aLab is a side-car gateway with a 0.3 agent ("go03", on a2a-go) and
// a 1.0 agent ("js10", on @a2a-js/sdk) registered for the default team.
type a2aLab struct {
	gw    *gateway
	token string
	a03   *a2atest.Agent
	a10   *a2atest.Agent
}

func startA2ALab(t *testing.T) *a2aLab {
	t.Helper()
	gw, idp, _ := sidecar(t)
	lab := &a2aLab{gw: gw, token: idp.Token(t, "api://default"), a03: a2atest.StartAgent03(t), a10: a2atest.StartAgent10(t)}
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", lab.a03.URL, "")
	registerAgent(t, gw, gw.cfg.DefaultTeam, "js10", lab.a10.URL, "")
	return lab
}

func (l *a2aLab) agentURL(name string) string { return l.gw.URL + "/a2a/" + name }

func a2aCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func userMsg(text string) *a2ago.MessageSendParams {
	return &a2ago.MessageSendParams{Message: a2ago.NewMessage(a2ago.MessageRoleUser, a2ago.TextPart{Text: text})}
}

func send03(t *testing.T, c *a2aclient.Client, params *a2ago.MessageSendParams) *a2ago.Task {
	t.Helper()
	res, err := c.SendMessage(a2aCtx(t), params)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	task, ok := res.(*a2ago.Task)
	if !ok {
		t.Fatalf("send: got %T, want a task", res)
	}
	return task
}

// A 0.3 client (a2a-go) through the gateway, against an agent of each
// version: the gateway translates what the 1.0 agent says.
func TestA2AGoClientThroughGateway(t *testing.T) {
	t.Parallel()
	lab := startA2ALab(t)
	for _, agent := range []string{"go03", "js10"} {
		t.Run(agent, func(t *testing.T) {
			c := a2atest.Client03(t, lab.agentURL(agent), lab.token)

			task := send03(t, c, userMsg("echo hi there"))
			if task.Status.State != a2ago.TaskStateCompleted || a2atest.ArtifactText(task) != "hi there" {
				t.Fatalf("echo: %s %q", task.Status.State, a2atest.ArtifactText(task))
			}
			got, err := c.GetTask(a2aCtx(t), &a2ago.TaskQueryParams{ID: task.ID})
			if err != nil || got.Status.State != a2ago.TaskStateCompleted {
				t.Fatalf("get: %v %v", got, err)
			}

			var working int
			var last a2ago.Event
			for ev, err := range c.SendStreamingMessage(a2aCtx(t), userMsg("slow 3")) {
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				if su, ok := ev.(*a2ago.TaskStatusUpdateEvent); ok && su.Status.State == a2ago.TaskStateWorking {
					working++
				}
				last = ev
			}
			if su, ok := last.(*a2ago.TaskStatusUpdateEvent); working < 3 || !ok || !su.Final || su.Status.State != a2ago.TaskStateCompleted {
				t.Errorf("stream: %d working updates, last %#v", working, last)
			}

			blocking := false
			wait := userMsg("wait")
			wait.Config = &a2ago.MessageSendConfig{Blocking: &blocking}
			running := send03(t, c, wait)
			if running.Status.State.Terminal() {
				t.Fatalf("wait: %s", running.Status.State)
			}
			canceled, err := c.CancelTask(a2aCtx(t), &a2ago.TaskIDParams{ID: running.ID})
			if err != nil || canceled.Status.State != a2ago.TaskStateCanceled {
				t.Fatalf("cancel: %v %v", canceled, err)
			}
			// The task is over: resubscribing gets its last word and ends.
			n := 0
			for _, err := range c.ResubscribeToTask(a2aCtx(t), &a2ago.TaskIDParams{ID: running.ID}) {
				if err != nil {
					t.Fatalf("resubscribe: %v", err)
				}
				n++
			}
			if n == 0 {
				t.Error("resubscribe to a finished task: no events")
			}
			if _, err := c.GetTask(a2aCtx(t), &a2ago.TaskQueryParams{ID: "no-such-task"}); err == nil {
				t.Error("get of an unknown task: no error")
			}
		})
	}
}

// A 1.0 client (@a2a-js/sdk) through the gateway, against an agent of each
// version.
func TestA2AJSClientThroughGateway(t *testing.T) {
	t.Parallel()
	lab := startA2ALab(t)
	for _, agent := range []string{"go03", "js10"} {
		t.Run(agent, func(t *testing.T) {
			// The SDK resolves the card relative to the URL it is given: a
			// trailing slash keeps the agent's segment.
			url := lab.agentURL(agent) + "/"
			js := func(op a2atest.JS10) a2atest.JS10Result {
				t.Helper()
				res := a2atest.RunJS10(t, url, lab.token, op)
				if res.Error != nil {
					t.Fatalf("1.0 client %s %q: %s: %s", op.Op, op.Text, res.Error.Name, res.Error.Message)
				}
				return res
			}
			type wireTask struct {
				ID     string
				Status struct{ State string }
			}
			sent := decodeAs[struct{ Task wireTask }](t, js(a2atest.JS10{Op: "send", Text: "echo hi there"}).Result).Task
			if sent.Status.State != "TASK_STATE_COMPLETED" {
				t.Fatalf("send: %+v", sent)
			}
			got := decodeAs[wireTask](t, js(a2atest.JS10{Op: "get", TaskID: sent.ID}).Result)
			if got.ID != sent.ID || got.Status.State != "TASK_STATE_COMPLETED" {
				t.Errorf("get: %+v", got)
			}
			stream := js(a2atest.JS10{Op: "stream", Text: "slow 3"})
			if len(stream.Events) < 4 || !strings.Contains(string(stream.Events[len(stream.Events)-1]), "TASK_STATE_COMPLETED") {
				t.Errorf("stream: %d events, last %s", len(stream.Events), stream.Events[len(stream.Events)-1])
			}
			running := decodeAs[struct{ Task wireTask }](t, js(a2atest.JS10{Op: "send-nonblocking", Text: "wait"}).Result).Task
			canceled := decodeAs[wireTask](t, js(a2atest.JS10{Op: "cancel", TaskID: running.ID}).Result)
			if canceled.Status.State != "TASK_STATE_CANCELED" {
				t.Errorf("cancel: %+v", canceled)
			}
			list := decodeAs[struct{ Tasks []wireTask }](t, js(a2atest.JS10{Op: "list"}).Result)
			if len(list.Tasks) != 3 {
				t.Errorf("list: %d tasks, want the 3 of this agent", len(list.Tasks))
			}
			if res := a2atest.RunJS10(t, url, lab.token, a2atest.JS10{Op: "get", TaskID: "no-such-task"}); res.Error == nil {
				t.Error("get of an unknown task: no error")
			}
		})
	}
}

func decodeAs[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// The agent learns who calls from the gateway's headers, never from the
// caller's token; it gets the team's credential for it instead.
func TestA2AIdentityReachesTheAgent(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", agent.URL, "agent-credential-0123456789")
	c := a2atest.Client03(t, gw.URL+"/a2a/go03", idp.Token(t, "api://default"))
	task := send03(t, c, userMsg("headers"))
	var report a2atest.HeaderReport
	if err := json.Unmarshal([]byte(a2atest.ArtifactText(task)), &report); err != nil {
		t.Fatalf("headers answer %q: %v", a2atest.ArtifactText(task), err)
	}
	h := report.Headers
	if h["x-attach-user"] != "gateway-rs256" || h["x-attach-tenant"] != "default" || h["x-attach-session"] == "" {
		t.Errorf("agent saw %v", h)
	}
	if got := agent.LastHeaders(t).Get("Authorization"); got != "Bearer agent-credential-0123456789" {
		t.Errorf("agent saw Authorization %q; want the team's credential for it", got)
	}
}

// Tasks are read from Postgres: they answer while the agent is down, and a
// send to an agent that is down is a failed task with the reason.
func TestA2AAgentDown(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	tok := idp.Token(t, "api://default")
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", agent.URL, "")
	c := a2atest.Client03(t, gw.URL+"/a2a/go03", tok)
	task := send03(t, c, userMsg("echo kept"))

	// The agent moves to an address where nobody answers.
	dead := deadURL(t)
	team, _ := gw.dir.Team(gw.cfg.DefaultTeam)
	ag, _ := team.Agent("go03")
	if _, err := gw.store.UpdateAgent(context.Background(), team.Team.ID, ag.ID, tenants.AgentInput{Name: "go03", BaseURL: dead, Version: "0.3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.store.SetAgentCard(context.Background(), team.Team.ID, ag.ID, nil, "", "connection refused"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agent moved", func() bool {
		s, _ := gw.dir.Team(gw.cfg.DefaultTeam)
		a, _ := s.Agent("go03")
		return a.BaseURL == dead && len(a.Card) == 0
	})
	got, err := c.GetTask(a2aCtx(t), &a2ago.TaskQueryParams{ID: task.ID})
	if err != nil || got.Status.State != a2ago.TaskStateCompleted || a2atest.ArtifactText(got) != "kept" {
		t.Fatalf("get while the agent is down: %v %v", got, err)
	}
	failed := send03(t, c, userMsg("echo lost"))
	if failed.Status.State != a2ago.TaskStateFailed || failed.Status.Message == nil {
		t.Fatalf("send to a dead agent: %#v", failed)
	}
	if text := failed.Status.Message.Parts[0].(a2ago.TextPart).Text; !strings.Contains(text, "could not be reached") {
		t.Errorf("failure reason %q", text)
	}
	again, err := c.GetTask(a2aCtx(t), &a2ago.TaskQueryParams{ID: failed.ID})
	if err != nil || again.Status.State != a2ago.TaskStateFailed {
		t.Errorf("the failed task is not recorded: %v %v", again, err)
	}
}

// One team cannot reach another's agents or tasks, and learns nothing of
// them.
func TestA2ATeamsApart(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", agent.URL, "")
	task := send03(t, a2atest.Client03(t, gw.URL+"/a2a/go03", idp.Token(t, "api://default")), userMsg("echo mine"))

	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"other","name":"Other"}`, 201)
	admin.post("/teams/other/issuers", `{"issuer":"`+idp.Issuer()+`","audience":"api://other"}`, 201)
	waitForTeam(t, gw, "other", 0, 1)
	otherTok := idp.Token(t, "api://other")

	// The other team has no such agent; the default team's token is not
	// good for the other team.
	resp, body := call(t, "POST", gw.URL+"/t/other/a2a/go03", otherTok, `{"jsonrpc":"2.0","id":"1","method":"tasks/get","params":{"id":"`+string(task.ID)+`"}}`)
	if resp.StatusCode != 404 || errorCode(t, body) != "unknown_agent" {
		t.Errorf("other team's agent route: %d %s", resp.StatusCode, body)
	}
	resp, _ = call(t, "POST", gw.URL+"/t/other/a2a/go03", idp.Token(t, "api://default"), `{}`)
	if resp.StatusCode != 401 {
		t.Errorf("default team's token on the other team: %d", resp.StatusCode)
	}
	// With the same agent registered in the other team, the task is still
	// not found there.
	registerAgent(t, gw, "other", "go03", agent.URL, "")
	resp, body = call(t, "POST", gw.URL+"/t/other/a2a/go03", otherTok, `{"jsonrpc":"2.0","id":"1","method":"tasks/get","params":{"id":"`+string(task.ID)+`"}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"code":-32001`) {
		t.Errorf("another team's task: %d %s", resp.StatusCode, body)
	}
	resp, body = call(t, "POST", gw.URL+"/t/other/a2a/go03", otherTok, `{"jsonrpc":"2.0","id":"2","method":"tasks/cancel","params":{"id":"`+string(task.ID)+`"}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"code":-32001`) {
		t.Errorf("cancel another team's task: %d %s", resp.StatusCode, body)
	}
	// No token at all.
	resp, _ = call(t, "POST", gw.URL+"/a2a/go03", "", `{}`)
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}

// Malformed JSON-RPC gets the spec's error objects with HTTP 200; what
// comes before the protocol gets an HTTP status.
func TestA2ABadRequests(t *testing.T) {
	t.Parallel()
	idp, eng := startIDPAndEngine(t)
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.URL()
	// Small enough that a body over it fits the socket's buffers: the
	// client reads the 413 instead of a reset.
	cfg.MaxBodyBytes = 64 << 10
	gw := startGateway(t, cfg)
	tok := idp.Token(t, "api://default")
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", agent.URL, "")
	url := gw.URL + "/a2a/go03"
	for _, c := range []struct {
		name, body, version string
		code                int
	}{
		{"not JSON", `{"jsonrpc":`, "", -32700},
		{"not a request", `{"jsonrpc":"1.0","id":1,"method":"message/send"}`, "", -32600},
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"tasks/explode","params":{}}`, "", -32601},
		{"1.0 name in 0.3", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}`, "", -32601},
		{"no message", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`, "", -32602},
		{"no task id", `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{}}`, "", -32602},
		{"unknown task", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"nope"}}`, "1.0", -32001},
		{"unsupported version", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`, "7.1", -32009},
		{"push", `{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set","params":{"taskId":"x","pushNotificationConfig":{"url":"http://169.254.169.254/"}}}`, "", -32003},
	} {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.version != "" {
				headers = []string{"A2A-Version", c.version}
			}
			resp, body := call(t, "POST", url, tok, c.body, headers...)
			var out struct {
				Error *struct{ Code int } `json:"error"`
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil || out.Error == nil || out.Error.Code != c.code {
				t.Errorf("%d %s; want HTTP 200 and error %d", resp.StatusCode, body, c.code)
			}
		})
	}
	resp, body := call(t, "POST", gw.URL+"/a2a/nobody", tok, `{"jsonrpc":"2.0","id":1,"method":"message/send"}`)
	if resp.StatusCode != 404 || errorCode(t, body) != "unknown_agent" {
		t.Errorf("unknown agent: %d %s", resp.StatusCode, body)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"` +
		strings.Repeat("x", gw.cfg.MaxBodyBytes) + `"}]}}}`
	resp, body = call(t, "POST", url, tok, big)
	if resp.StatusCode != 413 {
		t.Errorf("body over the limit: %d %.200s", resp.StatusCode, body)
	}
}

// The gateway's card for an agent names the gateway as the endpoint, in the
// shape the client's version expects, with the gateway's ways in.
func TestA2APublishedCard(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	agent := a2atest.StartAgent10(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "js10", agent.URL, "")
	cardURL := gw.URL + "/a2a/js10/.well-known/agent-card.json"

	resp, body := call(t, "GET", cardURL, "", "")
	var c03 struct {
		URL, ProtocolVersion string
		SecuritySchemes      map[string]map[string]any
		Skills               []any
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &c03) != nil {
		t.Fatalf("0.3 card: %d %s", resp.StatusCode, body)
	}
	if c03.URL != gw.URL+"/a2a/js10" || c03.ProtocolVersion != "0.3.0" || len(c03.Skills) == 0 {
		t.Errorf("0.3 card: %s", body)
	}
	if strings.Contains(body, agent.URL) {
		t.Errorf("the card names the agent's own address: %s", body)
	}
	if !strings.Contains(body, idp.Issuer()+"/.well-known/openid-configuration") {
		t.Errorf("the card does not name the team's issuer: %s", body)
	}

	resp, body = call(t, "GET", cardURL, "", "", "A2A-Version", "1.0")
	var c10 struct {
		SupportedInterfaces []struct{ URL, ProtocolBinding, ProtocolVersion string }
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &c10) != nil || len(c10.SupportedInterfaces) != 2 ||
		c10.SupportedInterfaces[0].URL != gw.URL+"/a2a/js10" || c10.SupportedInterfaces[0].ProtocolVersion != "1.0" {
		t.Errorf("1.0 card: %d %s", resp.StatusCode, body)
	}

	// The directory needs a token.
	if resp, _ := call(t, "GET", gw.URL+"/a2a/agents", "", ""); resp.StatusCode != 401 {
		t.Errorf("directory without a token: %d", resp.StatusCode)
	}
	resp, body = call(t, "GET", gw.URL+"/a2a/agents", idp.Token(t, "api://default"), "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"js10"`) || !strings.Contains(body, `"version":"1.0"`) {
		t.Errorf("directory: %d %s", resp.StatusCode, body)
	}
}

// A hand-off's messages are mirrored into the team's memory, by task.
func TestA2ATaskInMemory(t *testing.T) {
	t.Parallel()
	gw, idp, _ := sidecar(t)
	tok := idp.Token(t, "api://default")
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "go03", agent.URL, "")
	task := send03(t, a2atest.Client03(t, gw.URL+"/a2a/go03", tok), userMsg("echo the plan"))
	var kinds []string
	waitFor(t, "task events in memory", func() bool {
		_, body := call(t, "GET", gw.URL+"/mem/events?task="+string(task.ID), tok, "")
		var out struct {
			Events []struct{ Kind, Content, TaskID string }
		}
		if json.Unmarshal([]byte(body), &out) != nil {
			return false
		}
		kinds = kinds[:0]
		for _, e := range out.Events {
			kinds = append(kinds, e.Kind+":"+e.Content)
		}
		return len(kinds) == 2
	})
	joined := strings.Join(kinds, ",")
	if !strings.Contains(joined, "task_sent:echo the plan") || !strings.Contains(joined, "task_result:the plan") {
		t.Errorf("memory of the task: %v", kinds)
	}
}

// An agent gets a delegation token instead of the caller's: with it, it
// calls back through the gateway as the same user, in the same session,
// and the task it starts is recorded as a child of its own.
func TestA2ADelegation(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	agent := a2atest.StartAgent03(t)
	registerAgent(t, gw, gw.cfg.DefaultTeam, "planner", agent.URL, "")
	registerAgent(t, gw, gw.cfg.DefaultTeam, "coder", agent.URL, "")
	c := a2atest.Client03(t, gw.URL+"/a2a/planner", idp.Token(t, "api://default"))
	var report a2atest.HeaderReport
	if err := json.Unmarshal([]byte(a2atest.ArtifactText(send03(t, c, userMsg("headers")))), &report); err != nil {
		t.Fatal(err)
	}
	tok, handoff, session := report.Headers["x-attach-token"], report.Headers["x-attach-task"], report.Headers["x-attach-session"]
	if tok == "" || handoff == "" || session == "" {
		t.Fatalf("agent got %v", report.Headers)
	}

	// The token is good for the team's engine, as the user.
	resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody)
	if resp.StatusCode != 200 {
		t.Fatalf("chat with a delegation token: %d %s", resp.StatusCode, body)
	}
	up, _ := eng.lastRequest()
	if up.Header.Get("X-Attach-User") != "gateway-rs256" || up.Header.Get("X-Attach-Session") != session {
		t.Errorf("engine saw user %q session %q; want the user's", up.Header.Get("X-Attach-User"), up.Header.Get("X-Attach-Session"))
	}

	// A hand-off made with it is the child of the planner's task.
	child := send03(t, a2atest.Client03(t, gw.URL+"/a2a/coder", tok), userMsg("echo sub-task"))
	var parent, user string
	if err := gw.pool.QueryRow(context.Background(), "SELECT coalesce(parent_id::text, ''), user_sub FROM tasks WHERE task_id = $1 AND agent_name = 'coder'",
		string(child.ID)).Scan(&parent, &user); err != nil {
		t.Fatal(err)
	}
	if parent != handoff || user != "gateway-rs256" {
		t.Errorf("child task parent %q user %q; want %q, the user", parent, user, handoff)
	}
	var planner string
	if err := gw.pool.QueryRow(context.Background(), "SELECT task_id FROM tasks WHERE id = $1", handoff).Scan(&planner); err != nil {
		t.Errorf("the planner's task is not recorded under the id its agent was given: %v", err)
	}

	// Another team does not take it.
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"other","name":"Other"}`, 201)
	admin.post("/teams/other/engines", `{"name":"e","dialect":"ollama","base_url":"`+eng.URL()+`","default":true}`, 201)
	waitForTeam(t, gw, "other", 1, 0)
	resp, body = call(t, "POST", gw.URL+"/t/other/api/chat", tok, chatBody)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "another team") {
		t.Errorf("delegation token on another team: %d %s %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}

	// A loop of agents ends with a clear error.
	team, _ := gw.dir.Team(gw.cfg.DefaultTeam)
	deep, _, err := gw.delegator.Mint(identity.Delegation{TeamID: team.Team.ID, TeamSlug: team.Team.Slug, User: "gateway-rs256", Actor: "planner", Task: handoff, Depth: 8})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = call(t, "POST", gw.URL+"/a2a/coder", deep, `{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"echo x"}]}}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, "depth limit") {
		t.Errorf("delegation 8 deep: %d %s", resp.StatusCode, body)
	}

	// Anyone can check the token against the published keys: three
	// periods of delegation keys, three of exchanged-token keys.
	resp, body = call(t, "GET", gw.URL+"/.well-known/jwks.json", "", "")
	var set jose.JSONWebKeySet
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &set) != nil || len(set.Keys) != 6 {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	var claims struct {
		Sub string `json:"sub"`
		Act struct {
			Sub string `json:"sub"`
		} `json:"act"`
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if len(keys) != 1 || parsed.Claims(keys[0].Key, &claims) != nil {
		t.Fatal("the delegation token does not verify with the published keys")
	}
	if claims.Sub != "gateway-rs256" || claims.Act.Sub != "planner" || claims.Aud != gw.cfg.PublicURL+"/t/default" ||
		time.Until(time.Unix(claims.Exp, 0)) > 10*time.Minute {
		t.Errorf("claims = %+v", claims)
	}
}
