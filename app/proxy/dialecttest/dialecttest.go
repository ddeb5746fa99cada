// Package dialecttest runs the real Ollama client (npm ollama) and the real
// OpenAI client (npm openai) against a gateway, for the tests of the
// translation between the two dialects: each client makes its chat,
// generate (completions) and embedding calls, whole and streamed, and
// reports what it read. The Node packages are installed by
// ./deploy/dev/deps.sh (npm ci in js/).
package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Clients.
const (
	Ollama = "ollama"
	OpenAI = "openai"
)

// Case is what a client read in one call.
type Case struct {
	Text       string `json:"text"`
	Role       string `json:"role"`
	Model      string `json:"model"`
	Chunks     int    `json:"chunks"`
	Done       bool   `json:"done"`
	DoneReason string `json:"doneReason"`
	// PromptTokens and EvalTokens are the counts the client read, nil when
	// the answer had none.
	PromptTokens *int `json:"promptTokens"`
	EvalTokens   *int `json:"evalTokens"`
	// Count and Dims: embeddings, how many vectors and of what length.
	Count int `json:"count"`
	Dims  int `json:"dims"`
	// Error is the error the client raised, Status its HTTP status.
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// Results are a client's cases by name: chat, chat_stream, generate,
// generate_stream, embed, embeddings (Ollama's older route; Ollama client
// only), and unknown_model and unknown_model_stream (a chat naming a model
// the engine does not serve, "no-such-model").
type Results map[string]Case

// Run runs client (Ollama or OpenAI) against base, the gateway URL a client
// of the team uses (http://HOST/t/TEAM), with token and model.
func Run(t testing.TB, client, base, token, model string) Results {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("dialecttest: node is not on PATH (make deps)")
	}
	dir := jsDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal("dialecttest: the npm clients are not installed: run ./deploy/dev/deps.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "clients.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLIENT="+client, "BASE="+base, "TOKEN="+token, "MODEL="+model)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("dialecttest: %s client output is not JSON (%v): %s\nstderr: %s", client, runErr, stdout.String(), stderr.String())
	}
	if e, ok := res["error"]; ok {
		t.Fatalf("dialecttest: %s client failed: %s\nstderr: %s", client, e, stderr.String())
	}
	out := Results{}
	for name, raw := range res {
		var c Case
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("dialecttest: %s case %s: %v", client, name, err)
		}
		out[name] = c
	}
	return out
}

func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}
