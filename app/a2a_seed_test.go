package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/a2a/a2atest"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// scriptedEngine answers /api/chat as its script says for each request in
// turn (the last entry repeats): an HTTP status, or 0 to hold the answer
// until the test releases it or the caller leaves.
type scriptedEngine struct {
	srv     *httptest.Server
	script  []int
	hits    atomic.Int64
	release chan struct{}
	mu      sync.Mutex
	bodies  []string
	headers []http.Header
}

func newScriptedEngine(t *testing.T, script ...int) *scriptedEngine {
	e := &scriptedEngine{script: script, release: make(chan struct{})}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() { close(e.release) })
		e.srv.Close()
	})
	return e
}

func (e *scriptedEngine) serve(w http.ResponseWriter, r *http.Request) {
	n := int(e.hits.Add(1))
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.bodies = append(e.bodies, string(body))
	e.headers = append(e.headers, r.Header.Clone())
	e.mu.Unlock()
	status := e.script[min(n, len(e.script))-1]
	if status == 0 {
		select {
		case <-e.release:
			status = 200
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case status >= 400:
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"engine says no (`+http.StatusText(status)+`)"}`)
	default:
		io.WriteString(w, `{"model":"tiny","message":{"role":"assistant","content":"answer `+string(rune('0'+n))+`"},"done":true}`)
	}
}

func (e *scriptedEngine) request(i int) (string, http.Header) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bodies[i], e.headers[i]
}

// seedLab is a side-car gateway whose seed queue retries quickly, with
// the engine at engineURL and a token of the default team.
type seedLab struct {
	gw    *gateway
	idp   *oidctest.Provider
	token string
	cfg   Config
}

func startSeedLab(t *testing.T, engineURL string) *seedLab {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{})
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", engineURL
	cfg.SeedRetryBase = 50 * time.Millisecond
	cfg.SeedStopGrace = 200 * time.Millisecond
	return &seedLab{gw: startGateway(t, cfg), idp: idp, token: idp.Token(t, "api://default"), cfg: cfg}
}

type seedStatus struct {
	State    string          `json:"state"`
	Result   json.RawMessage `json:"result"`
	Reason   string          `json:"reason"`
	Attempts int             `json:"attempts"`
}

// seedSend posts a task and returns its id.
func seedSend(t *testing.T, url, token, body string) string {
	t.Helper()
	resp, b := call(t, "POST", url+"/a2a/tasks/send", token, body)
	var out struct {
		TaskID string `json:"task_id"`
		State  string `json:"state"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(b), &out) != nil || out.TaskID == "" || out.State != "queued" {
		t.Fatalf("send: %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("X-Attach-Session-Id") == "" {
		t.Errorf("send: no X-Attach-Session-Id")
	}
	return out.TaskID
}

func seedGet(t *testing.T, url, token, id string) seedStatus {
	t.Helper()
	resp, b := call(t, "GET", url+"/a2a/tasks/status/"+id, token, "")
	var st seedStatus
	if resp.StatusCode != 200 || json.Unmarshal([]byte(b), &st) != nil {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	return st
}

// seedWait polls the task's status until it is done or error.
func seedWait(t *testing.T, url, token, id string) seedStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := seedGet(t, url, token, id)
		switch st.State {
		case "done", "error":
			return st
		case "queued", "in_progress":
		default:
			t.Fatalf("status: unknown state %q", st.State)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s", id, st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func chatContent(t *testing.T, result json.RawMessage) string {
	t.Helper()
	var r struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		t.Fatalf("result is not a chat answer: %s", result)
	}
	return r.Message.Content
}

// Without target_url a task goes to the team's chat route: queued, then
// done with the engine's answer, the caller's identity stamped on the
// engine's request, the answer asked whole.
func TestSeedSendToDefaultChat(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	lab := startSeedLab(t, eng.URL())
	for _, c := range []struct{ name, prefix, body string }{
		{"root", "", `{"input":{"model":"tiny","messages":[{"role":"user","content":"hello"}]}}`},
		{"team path", "/t/default", `{"input":{"text":"hello"},"target_url":"/t/default/api/chat"}`},
		{"gateway URL", "", `{"input":{"text":"hello"},"target_url":"` + lab.gw.URL + `/api/chat"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := lab.gw.URL + c.prefix
			id := seedSend(t, url, lab.token, c.body)
			if st := seedGet(t, url, lab.token, id); st.State != "queued" && st.State != "in_progress" && st.State != "done" {
				t.Fatalf("right after send: %+v", st)
			}
			st := seedWait(t, url, lab.token, id)
			if st.State != "done" || chatContent(t, st.Result) != "Hello!" {
				t.Fatalf("final: %+v %s", st, st.Result)
			}
			req, body := eng.lastRequest()
			if req.URL.Path != "/api/chat" || req.Header.Get("X-Attach-User") == "" || req.Header.Get("X-Attach-Tenant") != "default" {
				t.Errorf("engine request: %s %v", req.URL.Path, req.Header)
			}
			var sent struct {
				Stream   *bool `json:"stream"`
				Messages []struct {
					Role, Content string
				} `json:"messages"`
			}
			if json.Unmarshal(body, &sent) != nil || sent.Stream == nil || *sent.Stream || len(sent.Messages) != 1 || sent.Messages[0].Content != "hello" {
				t.Errorf("engine body: %s", body)
			}
		})
	}
}

// A task for the team's agent, named by URL or path, goes through the
// relay: done with the agent's answer, and the task recorded with the
// caller's user and session.
func TestSeedSendToAgent(t *testing.T) {
	t.Parallel()
	lab := startSeedLab(t, newEngine(t).URL())
	registerAgent(t, lab.gw, "default", "go03", a2atest.StartAgent03(t).URL, "")
	registerAgent(t, lab.gw, "default", "js10", a2atest.StartAgent10(t).URL, "")
	for _, c := range []struct{ agent, target, input string }{
		{"go03", lab.gw.URL + "/a2a/go03", `{"text":"echo hi there"}`},
		{"js10", "/t/default/a2a/js10", `{"messages":[{"role":"user","content":"echo hi there"}]}`},
		{"go03", "/a2a/go03", `{"message":{"parts":[{"kind":"text","text":"echo hi there"}]}}`},
	} {
		t.Run(c.agent, func(t *testing.T) {
			resp, b := call(t, "POST", lab.gw.URL+"/a2a/tasks/send", lab.token, `{"input":`+c.input+`,"target_url":"`+c.target+`"}`)
			var sent struct {
				TaskID string `json:"task_id"`
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(b), &sent) != nil {
				t.Fatalf("send: %d %s", resp.StatusCode, b)
			}
			session := resp.Header.Get("X-Attach-Session-Id")
			st := seedWait(t, lab.gw.URL, lab.token, sent.TaskID)
			var task struct {
				ID        string `json:"id"`
				Kind      string `json:"kind"`
				Artifacts []struct {
					Parts []struct{ Text string } `json:"parts"`
				} `json:"artifacts"`
			}
			if st.State != "done" || json.Unmarshal(st.Result, &task) != nil || task.Kind != "task" ||
				len(task.Artifacts) == 0 || len(task.Artifacts[0].Parts) == 0 || task.Artifacts[0].Parts[0].Text != "hi there" {
				t.Fatalf("final: %+v %s", st, st.Result)
			}
			var user, sess, state string
			err := lab.gw.pool.QueryRow(context.Background(), `SELECT user_sub, session_id, state FROM tasks
				WHERE agent_name = $1 AND task_id = $2`, c.agent, task.ID).Scan(&user, &sess, &state)
			if err != nil || user == "" || sess != session || state != "completed" {
				t.Errorf("tasks row: %q %q (want %q) %q %v", user, sess, session, state, err)
			}
		})
	}
}

// An engine answering 503 twice, then 200: done after three tries. An
// engine answering 400: error at once, with the engine's reason.
func TestSeedRetriesAndErrors(t *testing.T) {
	t.Parallel()
	t.Run("503 then 200", func(t *testing.T) {
		t.Parallel()
		eng := newScriptedEngine(t, 503, 503, 200)
		lab := startSeedLab(t, eng.srv.URL)
		id := seedSend(t, lab.gw.URL, lab.token, `{"input":{"text":"hello"}}`)
		st := seedWait(t, lab.gw.URL, lab.token, id)
		if st.State != "done" || chatContent(t, st.Result) != "answer 3" || st.Attempts != 3 || eng.hits.Load() != 3 {
			t.Fatalf("final: %+v %s, %d hits", st, st.Result, eng.hits.Load())
		}
	})
	t.Run("400", func(t *testing.T) {
		t.Parallel()
		eng := newScriptedEngine(t, 400)
		lab := startSeedLab(t, eng.srv.URL)
		id := seedSend(t, lab.gw.URL, lab.token, `{"input":{"text":"hello"}}`)
		st := seedWait(t, lab.gw.URL, lab.token, id)
		if st.State != "error" || !strings.Contains(st.Reason, "HTTP 400") || !strings.Contains(st.Reason, "engine says no") || eng.hits.Load() != 1 {
			t.Fatalf("final: %+v, %d hits", st, eng.hits.Load())
		}
	})
	t.Run("always 503", func(t *testing.T) {
		t.Parallel()
		eng := newScriptedEngine(t, 503)
		lab := startSeedLab(t, eng.srv.URL)
		id := seedSend(t, lab.gw.URL, lab.token, `{"input":{"text":"hello"}}`)
		st := seedWait(t, lab.gw.URL, lab.token, id)
		if st.State != "error" || !strings.Contains(st.Reason, "HTTP 503") || eng.hits.Load() != 5 {
			t.Fatalf("final: %+v, %d hits", st, eng.hits.Load())
		}
	})
}

// target_url names only the team's own routes at the gateway; anything
// else is 422 with the field named, and nothing is queued.
func TestSeedRefusesOtherTargets(t *testing.T) {
	t.Parallel()
	eng := newEngine(t)
	lab := startSeedLab(t, eng.URL())
	adminClient(t, lab.gw).post("/teams", `{"slug":"other","name":"Other"}`, 201)
	for _, target := range []string{
		"http://example.com/api/chat",
		lab.gw.URL + "/t/other/api/chat",
		"/t/other/api/chat",
		eng.URL() + "/api/chat",
		eng.URL(),
		"http://169.254.169.254/",
		"http://169.254.169.254/latest/meta-data",
		lab.gw.URL + "/a2a/nosuch",
		lab.gw.URL + "/api/tags",
		lab.gw.URL + "/api/chat?x=1",
		"http://user:pw@" + strings.TrimPrefix(lab.gw.URL, "http://") + "/api/chat",
		"/a2a/../api/chat",
		"/admin/v1/teams",
		"file:///etc/passwd",
		"api/chat",
	} {
		resp, body := call(t, "POST", lab.gw.URL+"/a2a/tasks/send", lab.token, `{"input":{"text":"hi"},"target_url":"`+target+`"}`)
		var e struct {
			Error struct{ Code, Field string }
		}
		if resp.StatusCode != 422 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Field != "target_url" {
			t.Errorf("%s: %d %s", target, resp.StatusCode, body)
		}
	}
	var n int
	if err := lab.gw.pool.QueryRow(context.Background(), "SELECT count(*) FROM seed_tasks").Scan(&n); err != nil || n != 0 {
		t.Errorf("tasks queued: %d %v", n, err)
	}
	if eng.hits.Load() != 0 {
		t.Errorf("engine called %d times", eng.hits.Load())
	}
}

// Malformed bodies are JSON errors; status is 404 for an unknown id, and
// for another team's or another user's task (never 403); no token is 401.
func TestSeedBadRequestsAndOwnership(t *testing.T) {
	t.Parallel()
	lab := startSeedLab(t, newEngine(t).URL())
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`not json`, 400, "invalid_json"},
		{`[]`, 400, "invalid_json"},
		{``, 400, "invalid_json"},
		{`{"target_url":"/api/chat"}`, 422, "invalid_field"},
		{`{"input":"hello"}`, 422, "invalid_field"},
		{`{"input":{"model":"tiny"}}`, 422, "invalid_field"},
		{`{"input":{"text":"hi"},"target_url":42}`, 400, "invalid_json"},
	} {
		resp, body := call(t, "POST", lab.gw.URL+"/a2a/tasks/send", lab.token, c.body)
		if resp.StatusCode != c.status || errorCode(t, body) != c.code {
			t.Errorf("%q: %d %s", c.body, resp.StatusCode, body)
		}
	}
	if resp, _ := call(t, "POST", lab.gw.URL+"/a2a/tasks/send", "", `{"input":{"text":"hi"}}`); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}

	id := seedSend(t, lab.gw.URL, lab.token, `{"input":{"text":"hello"}}`)
	seedWait(t, lab.gw.URL, lab.token, id)

	admin := adminClient(t, lab.gw)
	admin.post("/teams", `{"slug":"other","name":"Other"}`, 201)
	admin.post("/teams/other/issuers", `{"issuer":"`+lab.idp.Issuer()+`","audience":"api://other"}`, 201)
	waitForTeam(t, lab.gw, "other", 0, 1)
	other := lab.idp.Token(t, "api://other")
	for _, c := range []struct{ name, url, token string }{
		{"unknown id", lab.gw.URL + "/a2a/tasks/status/0190a7a0-0000-7000-8000-000000000000", lab.token},
		{"not an id", lab.gw.URL + "/a2a/tasks/status/nope", lab.token},
		{"another team", lab.gw.URL + "/t/other/a2a/tasks/status/" + id, other},
		{"another user", lab.gw.URL + "/a2a/tasks/status/" + id, lab.idp.TokenAlg(t, "ES256", "api://default")},
	} {
		resp, body := call(t, "GET", c.url, c.token, "")
		if resp.StatusCode != 404 || errorCode(t, body) != "not_found" {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
		}
	}
	if resp, _ := call(t, "GET", lab.gw.URL+"/a2a/tasks/status/"+id, "", ""); resp.StatusCode != 401 {
		t.Errorf("status without token: %d", resp.StatusCode)
	}
	// "tasks" and "agents" are routes of the gateway, not agent names.
	team, _ := lab.gw.dir.Team("default")
	for _, name := range []string{"tasks", "agents"} {
		_, err := lab.gw.store.CreateAgent(context.Background(), team.Team.ID, tenants.AgentInput{Name: name, BaseURL: "http://127.0.0.1:9", Version: "0.3"})
		if e := attach.AsError(err); e == nil || e.Code != attach.CodeInvalid || e.Field != "name" {
			t.Errorf("agent named %s: %v", name, err)
		}
	}
}

// A task in progress when its gateway stops is finished by another
// gateway on the same database.
func TestSeedSurvivesRestart(t *testing.T) {
	t.Parallel()
	eng := newScriptedEngine(t, 0, 200) // the first try is held, the second answers
	idp := oidctest.Start(t, oidctest.Options{})
	cfg := testConfig(t)
	cfg.OIDCIssuer, cfg.OIDCAudience, cfg.EngineURL = idp.Issuer(), "api://default", eng.srv.URL
	cfg.SeedRetryBase = 50 * time.Millisecond
	cfg.SeedStopGrace = 200 * time.Millisecond
	token := idp.Token(t, "api://default")

	first, stopFirst := startStoppableGateway(t, cfg)
	id := seedSend(t, first.URL, token, `{"input":{"text":"hello"}}`)
	waitFor(t, "the engine to be called", func() bool { return eng.hits.Load() == 1 })
	if st := seedGet(t, first.URL, token, id); st.State != "in_progress" {
		t.Fatalf("while the engine thinks: %+v", st)
	}
	stopFirst()

	second, _ := startStoppableGateway(t, cfg)
	st := seedWait(t, second.URL, token, id)
	if st.State != "done" || chatContent(t, st.Result) != "answer 2" || eng.hits.Load() != 2 {
		t.Fatalf("after the restart: %+v %s", st, st.Result)
	}
}

// startStoppableGateway is startGateway with a stop the test may call
// before its end.
func startStoppableGateway(t *testing.T, cfg Config) (*gateway, func()) {
	t.Helper()
	ln := listenLoopback(t)
	cfg.PublicURL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := New(ctx, cfg, testLogger())
	if err != nil {
		ln.Close()
		t.Fatalf("start gateway: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-served
		})
	}
	t.Cleanup(stop)
	return &gateway{App: a, URL: cfg.PublicURL}, stop
}
