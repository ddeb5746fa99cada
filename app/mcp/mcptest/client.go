package mcptest

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

// ClientResult is what the TypeScript client reports.
type ClientResult struct {
	// Bare is the answer to the one request sent without a token
	// (discover mode).
	Bare *struct {
		Status           int    `json:"status"`
		Challenge        string `json:"challenge"`
		ResourceMetadata string `json:"resourceMetadata"`
	} `json:"bare"`
	// Requests are the SDK's HTTP requests in order.
	Requests []struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Status int    `json:"status"`
	} `json:"requests"`
	SessionID     string          `json:"sessionId"`
	Tools         []string        `json:"tools"`
	Result        *Whoami         `json:"result"`
	IsError       bool            `json:"isError"`
	TokenAudience json.RawMessage `json:"tokenAudience"`
	TokenSuffix   string          `json:"tokenSuffix"`
	Error         string          `json:"error"`
}

// Discover runs the client against mcpURL with no token: it must find its
// way to a token from issuer (client clientID, secret) on its own.
func Discover(t testing.TB, mcpURL, issuer, clientID, secret string) ClientResult {
	t.Helper()
	return runClient(t, "MCP_URL="+mcpURL, "MODE=discover", "ISSUER="+issuer, "CLIENT_ID="+clientID, "CLIENT_SECRET="+secret)
}

// WithToken runs the client against mcpURL with token as its bearer token.
func WithToken(t testing.TB, mcpURL, token string) ClientResult {
	t.Helper()
	return runClient(t, "MCP_URL="+mcpURL, "MODE=token", "TOKEN="+token)
}

func runClient(t testing.TB, env ...string) ClientResult {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("mcptest: node is not on PATH (make deps)")
	}
	dir := jsDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal("mcptest: the TypeScript SDK is not installed: run ./deploy/dev/deps.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "client.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res ClientResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("mcptest: client output is not JSON (%v): %s\nstderr: %s", runErr, stdout.String(), stderr.String())
	}
	if runErr != nil && res.Error == "" {
		res.Error = runErr.Error() + ": " + stderr.String()
	}
	return res
}

func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}
