package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// gatewayParams configure the gateway in side-car mode.
type gatewayParams struct {
	Bin         string
	DataDir     string // under /tmp, 0755, so the postgres user can reach it
	LogPath     string // the gateway's stderr
	Port        int
	Issuer      string
	EngineURL   string
	LogLevel    string
	MemBackend  string // empty: the gateway's default
	WeaviateURL string
}

// gatewayEnvDrop are variables of the caller's environment that would change
// what is measured (a remote database, another issuer or engine).
var gatewayEnvDrop = []string{"ATTACH_", "OIDC_", "ENGINE_", "DATABASE_URL=", "PORT=", "MEM_BACKEND=", "WEAVIATE_URL="}

func gatewayEnv(environ []string, p gatewayParams) []string {
	var env []string
	for _, kv := range environ {
		keep := true
		for _, prefix := range gatewayEnvDrop {
			if strings.HasPrefix(kv, prefix) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	env = append(env,
		"ATTACH_DATA_DIR="+p.DataDir,
		"ATTACH_HOST=127.0.0.1",
		"PORT="+strconv.Itoa(p.Port),
		"OIDC_ISSUER="+p.Issuer,
		"OIDC_AUD="+benchAudience,
		"ENGINE_URL="+p.EngineURL,
		"ATTACH_LOG_LEVEL="+p.LogLevel,
	)
	if p.MemBackend != "" {
		env = append(env, "MEM_BACKEND="+p.MemBackend)
	}
	if p.WeaviateURL != "" {
		env = append(env, "WEAVIATE_URL="+p.WeaviateURL)
	}
	return env
}

// startGateway runs `attach serve` and waits for GET /readyz to answer 200.
// The first start creates a Postgres cluster, which takes a few seconds.
func startGateway(ctx context.Context, p gatewayParams, timeout time.Duration) (*child, string, error) {
	logf, err := os.Create(p.LogPath)
	if err != nil {
		return nil, "", fmt.Errorf("create gateway log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(p.Bin, "serve")
	cmd.Env = gatewayEnv(os.Environ(), p)
	cmd.Dir = p.DataDir // keep anything it writes out of the checkout
	cmd.Stdout, cmd.Stderr = logf, logf
	c, err := startChild("gateway", cmd)
	if err != nil {
		return nil, "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", p.Port)
	if err := waitReady(ctx, c, base+"/readyz", timeout); err != nil {
		_ = c.stop(30 * time.Second)
		return nil, "", fmt.Errorf("%w\nlast lines of %s:\n%s", err, p.LogPath, tailFile(p.LogPath, 15))
	}
	return c, base, nil
}

func waitReady(ctx context.Context, c *child, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("make readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		if c.exited() {
			return fmt.Errorf("gateway exited before it was ready: %v", c.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway not ready at %s after %s (last: %s)", url, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// chatBody is the request every target gets.
const chatBody = `{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"stream":false}`

// checkGateway proves the gateway is worth measuring: the token is accepted
// and the engine's answer comes back, and no token means 401. It returns
// warnings for identity headers the upstream did not see as expected.
func checkGateway(ctx context.Context, up *upstream, base, token string) ([]string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(auth string, extra map[string]string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/chat", strings.NewReader(chatBody))
		if err != nil {
			return 0, "", fmt.Errorf("make check request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", fmt.Errorf("POST /api/chat: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if err != nil {
			return 0, "", fmt.Errorf("read /api/chat answer: %w", err)
		}
		return resp.StatusCode, string(body), nil
	}

	var status int
	var body string
	// A client must never be able to pick its own identity: the gateway has
	// to replace this header with the token's.
	const spoofed = "spoofed-by-client"
	seen, err := up.probe(func() error {
		var err error
		status, body, err = post(token, map[string]string{"X-Attach-User": spoofed})
		return err
	})
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || !strings.Contains(body, `"Hello!"`) {
		return nil, fmt.Errorf("gateway check: POST /api/chat with a valid token answered %d %s, want 200 with the engine's reply", status, trim(body))
	}
	var warnings []string
	switch seen.User {
	case "":
		warnings = append(warnings, "the engine saw no X-Attach-User header on an authenticated request")
	case spoofed:
		warnings = append(warnings, "the engine saw the client's own X-Attach-User header: the gateway did not replace it")
	}
	if seen.Session == "" {
		warnings = append(warnings, "the engine saw no X-Attach-Session header")
	}
	if seen.Tenant == "" {
		warnings = append(warnings, "the engine saw no X-Attach-Tenant header")
	}

	status, body, err = post("", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusUnauthorized {
		return nil, fmt.Errorf("gateway check: POST /api/chat without a token answered %d %s, want 401", status, trim(body))
	}
	return warnings, nil
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// gatewayVersion asks the binary for its version, for the report.
func gatewayVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
