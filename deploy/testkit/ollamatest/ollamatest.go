// Package ollamatest runs a real Ollama server on 127.0.0.1 for tests,
// serving the tiny model of deploy/dev/tinymodel, which answers Answer to
// any prompt:
//
//	eng := ollamatest.Start(t)
//	resp, err := http.Post(eng.URL+"/api/chat", "application/json",
//		strings.NewReader(`{"model":"`+eng.Model+`","messages":[{"role":"user","content":"hi"}]}`))
//
// Each Start is a server of its own, with its own home and model folders
// in a temporary folder, stopped (SIGTERM to its pid) when the test ends;
// the tiny model is written and created in it at start, which takes a
// second or two. The server is Ollama's own binary, as released, built from
// the Go module proxy: ATTACH_OLLAMA_BIN when set, else the one `make deps`
// builds once per machine (deploy/dev/ollama.sh, 6-7 minutes the first
// time); a test never builds it. Without a binary the test fails, saying
// to run `make deps`. The server dies with the test binary even when the
// binary is killed.
package ollamatest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/dev/tinymodel"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// EnvBinary names an ollama binary to use instead of the one `make deps`
// built.
const EnvBinary = "ATTACH_OLLAMA_BIN"

// Answer is what the tiny model says to every prompt.
const Answer = tinymodel.Sentence

// ModelName is the name the tiny model is created under.
const ModelName = "tiny"

// How long the server may take to answer, to create the model, and to exit
// on SIGTERM. All are generous because the machine is shared; they bound a
// broken run, they do not measure anything.
const (
	readyTimeout  = time.Minute
	createTimeout = 2 * time.Minute
	stopTimeout   = 30 * time.Second
)

// maxOutput is how much of the server's output is kept to explain a failure.
const maxOutput = 64 << 10

// Engine is one running Ollama server.
type Engine struct {
	// URL is the server's base URL, http://127.0.0.1:PORT (no trailing
	// slash).
	URL string
	// Model is the name of the model it serves, "tiny".
	Model string

	proc *testkit.Process
	dir  string
}

// Start runs a new Ollama server with the tiny model created in it and
// stops it when the test ends. It fails the test when the binary cannot be
// found or the server or model do not come up.
func Start(tb testing.TB) *Engine {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		tb.Fatalf("ollamatest: %v", err)
	}
	e, err := start(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("ollamatest: %v", err)
	}
	tb.Cleanup(func() {
		if err := e.proc.Stop(stopTimeout); err != nil {
			tb.Errorf("ollamatest: %v", err)
		}
	})
	return e
}

// Output is what the server has logged so far, to explain a failure.
func (e *Engine) Output() string { return e.proc.Output() }

// start writes the model into dir, starts the server and creates the model.
// A port picked free may be taken by someone else before Ollama binds it,
// so a start that fails on a taken port is tried again on another.
func start(bin, dir string) (*Engine, error) {
	modelDir := filepath.Join(dir, "tinymodel")
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return nil, err
	}
	modelfile, err := tinymodel.WriteFiles(modelDir)
	if err != nil {
		return nil, err
	}
	var e *Engine
	for attempt := 0; ; attempt++ {
		e, err = launch(bin, dir)
		if err == nil {
			break
		}
		if attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
	if err := e.create(bin, modelfile); err != nil {
		e.proc.Kill()
		return nil, err
	}
	return e, nil
}

// launch starts `ollama serve` on a free port and waits until it answers.
func launch(bin, dir string) (*Engine, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	e := &Engine{URL: "http://127.0.0.1:" + strconv.Itoa(port), Model: ModelName, dir: dir}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = e.env()
	// The server must not outlive the test binary, even if the binary is
	// killed: on SIGTERM it also stops the runner it started for the model.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	e.proc, err = testkit.Start("ollama", cmd, maxOutput)
	if err != nil {
		return nil, err
	}
	if err := e.waitReady(); err != nil {
		e.proc.Kill()
		return nil, err
	}
	return e, nil
}

// env is the whole environment of the server and of the `ollama create`
// client: nothing is inherited from the test process, so a variable set for
// another purpose (an OLLAMA_HOST of the developer's, say) cannot change it.
func (e *Engine) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.dir,
		"OLLAMA_HOST=" + strings.TrimPrefix(e.URL, "http://"),
		"OLLAMA_MODELS=" + filepath.Join(e.dir, "models"),
		// Loopback only: no cloud models, no sign-in.
		"OLLAMA_NO_CLOUD=1",
		// The model stays loaded for the whole test, so only the first
		// request pays for starting the runner.
		"OLLAMA_KEEP_ALIVE=1h",
	}
}

// waitReady polls /api/version until it answers 200, the process exits, or
// readyTimeout passes.
func (e *Engine) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(e.URL + "/api/version")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-e.proc.Done():
			return fmt.Errorf("ollama exited before it was ready (%v):\n%s", e.proc.Err(), e.proc.Output())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ollama not ready after %s:\n%s", readyTimeout, e.proc.Output())
		}
	}
}

// create runs `ollama create` against the server, as a user would, and
// waits until /api/tags lists the model.
func (e *Engine) create(bin, modelfile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "create", e.Model, "-f", modelfile)
	cmd.Dir = filepath.Dir(modelfile)
	cmd.Env = e.env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ollama create %s: %v\n%s\nserver:\n%s", e.Model, err, out, e.proc.Output())
	}
	for {
		names, err := e.tags()
		if err != nil {
			return err
		}
		for _, n := range names {
			if n == e.Model || n == e.Model+":latest" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("/api/tags does not list %s after `ollama create`: %v", e.Model, names)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tags is the names /api/tags lists.
func (e *Engine) tags() ([]string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(e.URL + "/api/tags")
	if err != nil {
		return nil, fmt.Errorf("/api/tags: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/api/tags: status %d, %v", resp.StatusCode, err)
	}
	names := make([]string, len(out.Models))
	for i, m := range out.Models {
		names[i] = m.Name
	}
	return names, nil
}

// freePort finds a free loopback port. It is released before Ollama binds
// it, which is why a start on a port taken meanwhile is tried again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is the Ollama binary deploy/dev/ollama.sh builds.
var server = &testkit.Built{Script: "ollama.sh", Env: EnvBinary, What: "ollama"}

// binary finds the server binary once per test binary.
func binary() (string, error) { return server.Path() }
