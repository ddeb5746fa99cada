package a2atest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// stopTimeout is how long node has to exit on SIGTERM before it is killed.
const stopTimeout = 5 * time.Second

// startTimeout bounds how long node may take to listen and serve its card.
const startTimeout = 30 * time.Second

var listening = regexp.MustCompile(`A2ATEST_LISTENING (\d+)`)

// StartAgent10 runs the A2A 1.0 agent (js/agent.mjs on @a2a-js/sdk) on a
// loopback port until the test ends. It answers JSON-RPC at its base URL
// and serves its card (one JSONRPC interface, protocolVersion 1.0) at
// CardURL. It fails the test when node or the npm packages are missing.
func StartAgent10(t testing.TB) *Agent {
	t.Helper()
	requireNode(t)
	cmd := exec.Command("node", filepath.Join(jsDir(), "agent.mjs"))
	cmd.Dir = jsDir()
	// The agent must not outlive the test binary, even if it crashes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	proc, err := testkit.Start("node agent.mjs", cmd, 64<<10)
	if err != nil {
		t.Fatalf("a2atest: %v", err)
	}
	t.Cleanup(func() {
		if err := proc.Stop(stopTimeout); err != nil {
			t.Logf("a2atest: %v", err)
		}
	})

	port, err := waitListening(proc)
	if err != nil {
		t.Fatalf("a2atest: %v", err)
	}
	a := &Agent{Version: "1.0", URL: "http://127.0.0.1:" + port}
	a.CardURL = a.URL + CardPath
	client := &http.Client{Timeout: 10 * time.Second}
	if err := waitCard(client, a.CardURL, proc); err != nil {
		t.Fatalf("a2atest: %v", err)
	}
	a.fetch = func() (http.Header, error) { return nodeHeaders(client, a.URL+"/__test/headers") }
	return a
}

// waitListening waits for the line in which the agent reports its port.
func waitListening(proc *testkit.Process) (string, error) {
	deadline := time.Now().Add(startTimeout)
	for {
		if m := listening.FindStringSubmatch(proc.Output()); m != nil {
			return m[1], nil
		}
		select {
		case <-proc.Done():
			return "", fmt.Errorf("the 1.0 agent exited before it listened: %v\n%s", proc.Err(), proc.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the 1.0 agent did not listen within %s\n%s", startTimeout, proc.Output())
		}
	}
}

// waitCard polls the card until it answers 200.
func waitCard(client *http.Client, url string, proc *testkit.Process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("the 1.0 agent exited before its card answered: %v\n%s", proc.Err(), proc.Output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the 1.0 agent's card did not answer within %s\n%s", startTimeout, proc.Output())
		}
	}
}

func nodeHeaders(client *http.Client, url string) (http.Header, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	h := http.Header{}
	for name, v := range raw {
		switch v := v.(type) {
		case string:
			h.Add(name, v)
		case []any:
			for _, s := range v {
				h.Add(name, fmt.Sprint(s))
			}
		}
	}
	return h, nil
}

// requireNode fails the test when node or the npm packages are missing, as
// `make deps` installs both.
func requireNode(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("a2atest: node is not installed; run `make deps`")
	}
	if _, err := os.Stat(filepath.Join(jsDir(), "node_modules", "@a2a-js", "sdk", "package.json")); err != nil {
		t.Fatal("a2atest: the @a2a-js/sdk npm package is not installed; run `make deps`")
	}
}

// jsDir is the folder of the node programs and their node_modules.
func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}
