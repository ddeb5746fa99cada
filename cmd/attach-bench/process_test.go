package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestChildStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	c, err := startChild("sleep", exec.Command("sleep", "600"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !c.exited() {
		t.Fatal("still running")
	}
}

func TestChildIgnoringSIGTERMIsKilled(t *testing.T) {
	t.Parallel()
	// The shell ignores SIGTERM and says so once the trap is set, so stop
	// is only called when the signal really is ignored.
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c, err := startChild("stubborn", cmd)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q: %v", buf, err)
	}
	err = c.stop(200 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("stop = %v, want a did-not-stop error", err)
	}
	if !c.exited() {
		t.Fatal("still running after kill")
	}
}
