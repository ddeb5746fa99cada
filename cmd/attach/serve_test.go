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

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestServeStopsOnSIGTERM runs the serve command as an operator would and
// stops it with SIGTERM: it must answer while up and exit cleanly.
func TestServeStopsOnSIGTERM(t *testing.T) {
	addr, stop := startCommand(t, "serve")
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	stop()
}

// startCommand runs `attach name` on a database of its own, listening on a
// free loopback port, and returns the address its banner names. stop sends
// the process SIGTERM and checks that the command exits cleanly and stops
// answering. The tests that use it change the environment and signal the
// whole test process, so they cannot run in parallel.
func startCommand(t *testing.T, name string) (addr string, stop func()) {
	t.Helper()
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("ATTACH_SECRET_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
	t.Setenv("ATTACH_HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	t.Setenv("ATTACH_LOG_LEVEL", "warn")

	outR, outW := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{name}, outW, io.Discard)
		outW.Close()
	}()
	first, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v", err)
	}
	go io.Copy(io.Discard, outR)
	addr = strings.TrimSpace(first[strings.LastIndex(first, " ")+1:])
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("banner %q", first)
	}
	return addr, func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-exited:
			if code != 0 {
				t.Fatalf("exit code %d after SIGTERM", code)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop on SIGTERM", name)
		}
		if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
			t.Fatalf("%s still answering after it stopped", name)
		}
	}
}
