package app

import (
	"context"
	"testing"
	"time"
)

// A stop that comes before Serve has begun, or just as it begins, still
// ends Serve: the listener is closed by Shutdown, whoever holds it.
func TestShutdownBeforeServeEndsServe(t *testing.T) {
	t.Parallel()
	for _, serveFirst := range []bool{false, true} {
		ln := listenLoopback(t)
		a, err := New(context.Background(), testConfig(t), testLogger())
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		if serveFirst {
			go func() { served <- a.Serve(ln) }()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if !serveFirst {
			go func() { served <- a.Serve(ln) }()
		}
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("Serve (started first: %v) still running after Shutdown", serveFirst)
		}
	}
}
