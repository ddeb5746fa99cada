package testkit

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestBufferKeepsTheTail(t *testing.T) {
	t.Parallel()
	all := &Buffer{}
	tail := &Buffer{Max: 4}
	for _, s := range []string{"abc", "def", "gh"} {
		all.Write([]byte(s))
		tail.Write([]byte(s))
	}
	if got := all.String(); got != "abcdefgh" {
		t.Errorf("all = %q", got)
	}
	if got := tail.String(); got != "efgh" {
		t.Errorf("tail = %q, want the last 4 bytes", got)
	}
}

func TestProcessOutputAndStop(t *testing.T) {
	t.Parallel()
	p, err := Start("sh", exec.Command("sh", "-c", "echo ready; exec sleep 60"), 0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("output = %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if p.Err() == nil {
		t.Error("a process ended by SIGTERM reported success")
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestGoWaitsForRunAtCleanup(t *testing.T) {
	t.Parallel()
	returned := make(chan struct{})
	t.Run("inner", func(t *testing.T) {
		Go(t, func(ctx context.Context) {
			<-ctx.Done()
			close(returned)
		})
	})
	select {
	case <-returned:
	default:
		t.Fatal("the test ended before run returned")
	}
}
