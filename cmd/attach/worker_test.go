package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
)

// TestWorkerServesMetrics runs the worker command as an operator would: it
// answers /healthz and /metrics on its port, with the memory series, and
// stops cleanly on SIGTERM.
func TestWorkerServesMetrics(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("ATTACH_SECRET_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
	t.Setenv("ATTACH_HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	t.Setenv("ATTACH_LOG_LEVEL", "warn")

	outR, outW := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{"worker"}, outW, io.Discard)
		outW.Close()
	}()
	first, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v", err)
	}
	go io.Copy(io.Discard, outR)
	addr := strings.TrimSpace(first[strings.LastIndex(first, " ")+1:])
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("banner %q", first)
	}
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s (%v)", path, resp.StatusCode, body, err)
		}
		return string(body)
	}
	if body := get("/healthz"); body != `{"status":"ok"}` {
		t.Fatalf("healthz %s", body)
	}
	metrics := get("/metrics")
	for _, want := range []string{"\nattach_memory_outbox_pending 0\n", "\n# TYPE attach_memory_delivery_lag_seconds histogram\n", "\ngo_goroutines "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop on SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still answering after it stopped")
	}
}
