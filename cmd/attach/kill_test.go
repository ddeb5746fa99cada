package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	a2ago "github.com/a2aproject/a2a-go/a2a"

	"github.com/attach-dev/attach-gateway/a2a/a2atest"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
)

// childServe, set to 1, makes the test binary run `attach serve`.
const childServe = "ATTACH_TEST_CHILD_SERVE"

// gatewayProcess is `attach serve` in a process of its own, so a test can
// kill it as the kernel would.
type gatewayProcess struct {
	t   *testing.T
	env []string
	url string
	cmd *exec.Cmd
}

func newGatewayProcess(t *testing.T) *gatewayProcess {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr
	return &gatewayProcess{t: t, url: url, env: []string{
		childServe + "=1",
		"DATABASE_URL=" + pgtest.NewDSN(t),
		"ATTACH_SECRET_KEY=MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"ATTACH_ADMIN_TOKEN=kill-test-admin-token-0123456789",
		"ATTACH_HOST=127.0.0.1",
		"PORT=" + addr[strings.LastIndex(addr, ":")+1:],
		"ATTACH_PUBLIC_URL=" + url,
		"ATTACH_LOG_LEVEL=warn",
		"ATTACH_DATA_DIR=" + t.TempDir(), // the memory journal, not in the checkout
		// The agents it hands off to are on loopback; with DATABASE_URL the
		// gateway refuses private addresses unless told otherwise.
		"ATTACH_ALLOW_PRIVATE_NETWORKS=true",
	}}
}

// start runs the gateway and waits until it is ready.
func (g *gatewayProcess) start() {
	g.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), g.env...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.cmd = cmd
	g.t.Cleanup(func() { g.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(g.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("gateway not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls path with the key until its answer holds want: new keys
// and agents reach the gateway's directory a moment after they are saved.
func (g *gatewayProcess) waitFor(key, path, want string) {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", g.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("%s never showed %s", path, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the gateway with SIGKILL: no shutdown, no flush.
func (g *gatewayProcess) kill() {
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Kill()
	_ = g.cmd.Wait()
	g.cmd = nil
}

func (g *gatewayProcess) admin(path, body string) map[string]any {
	g.t.Helper()
	req, _ := http.NewRequest("POST", g.url+"/admin/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer kill-test-admin-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		g.t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

// A gateway killed in the middle of a hand-off leaves the task in
// Postgres; the next gateway answers for it and settles it with the agent.
func TestHandOffSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills gateway processes")
	}
	agent := a2atest.StartAgent03(t)
	gw := newGatewayProcess(t)
	gw.start()
	gw.admin("/teams/default/agents", `{"name":"worker","base_url":"`+agent.URL+`","version":"auto"}`)
	key := gw.admin("/teams/default/keys", `{"name":"kill test"}`)["key"].(string)
	gw.waitFor(key, "/a2a/agents", `"worker"`)
	c := a2atest.Client03(t, gw.url+"/a2a/worker", key)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A stream of a task that takes two seconds; the gateway dies after
	// its first events.
	var taskID a2ago.TaskID
	for ev, err := range c.SendStreamingMessage(ctx, &a2ago.MessageSendParams{
		Message: a2ago.NewMessage(a2ago.MessageRoleUser, a2ago.TextPart{Text: "slow 20"})}) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if taskID = ev.TaskInfo().TaskID; taskID != "" {
			break
		}
	}
	if taskID == "" {
		t.Fatal("no task in the stream")
	}
	gw.kill()

	gw.start()
	// The new gateway knows the task from Postgres and, the agent being
	// up, follows it to its end.
	var got *a2ago.Task
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		got, err = c.GetTask(ctx, &a2ago.TaskQueryParams{ID: taskID})
		if err != nil {
			t.Fatalf("get after the restart: %v", err)
		}
		if got.Status.State.Terminal() || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.Status.State != a2ago.TaskStateCompleted {
		t.Errorf("task after the restart: %s", got.Status.State)
	}

	// Once more after another kill: the finished task is answered from
	// Postgres.
	gw.kill()
	gw.start()
	again, err := c.GetTask(ctx, &a2ago.TaskQueryParams{ID: taskID})
	if err != nil || again.Status.State != a2ago.TaskStateCompleted {
		t.Errorf("get from Postgres: %v %v", again, err)
	}
}
