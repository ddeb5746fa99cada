package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNginxProxiesToUpstream starts the real nginx with the bench's
// configuration in front of the stand-in engine and stops it by its pid.
func TestNginxProxiesToUpstream(t *testing.T) {
	t.Parallel()
	bin, err := findNginx()
	if err != nil {
		t.Fatalf("%v (make bench runs it)", err)
	}
	up := testUpstream(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "nginx")
	ng, base, err := startNginx(context.Background(), bin, dir, nginxParams{
		Root:              os.Geteuid() == 0,
		Workers:           2,
		WorkerConnections: 1024,
		Upstream:          strings.TrimPrefix(up.url, "http://"),
		Keepalive:         8,
		Port:              port,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ng.stop(10 * time.Second)

	for range 3 {
		resp, err := http.Post(base+"/api/chat", "application/json", strings.NewReader(chatBody))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"content":"Hello!"`) {
			t.Fatalf("through nginx: %d %s", resp.StatusCode, body)
		}
	}
	conf, err := readFile(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"worker_processes 2;", "keepalive 8;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`, "pid " + dir + "/nginx.pid;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}

	if err := ng.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !ng.exited() {
		t.Fatal("nginx still running after stop")
	}
	if _, err := http.Get(base + "/api/chat"); err == nil {
		t.Error("nginx still answers after SIGTERM")
	}
}
