package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWorkerServesMetrics runs the worker command as an operator would: it
// answers /healthz and /metrics on its port, with the memory series, and
// stops cleanly on SIGTERM.
func TestWorkerServesMetrics(t *testing.T) {
	addr, stop := startCommand(t, "worker")
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

	stop()
}
