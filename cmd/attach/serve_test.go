package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the gateway process for the tests that
	// kill one (kill_test.go).
	if os.Getenv(childServe) == "1" {
		os.Exit(run([]string{"serve"}, os.Stdout, os.Stderr))
	}
	os.Exit(pgtest.Main(m))
}

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

// TestBannerNamesWhereTheAdminTokenIs starts serve with the management
// token in the environment: the banner must say so, never name a token file
// that does not exist, and never print the token.
func TestBannerNamesWhereTheAdminTokenIs(t *testing.T) {
	const token = "banner-test-admin-token-0123456789"
	t.Setenv("ATTACH_ADMIN_TOKEN", token)
	addr, out, stop := startCommandOut(t, "serve")
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out(), "console:") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	banner := out()
	if !strings.Contains(banner, "http://localhost:"+addr[strings.LastIndex(addr, ":")+1:]+"/admin/v1/teams with the token in ATTACH_ADMIN_TOKEN") {
		t.Errorf("banner does not say the token is ATTACH_ADMIN_TOKEN:\n%s", banner)
	}
	if strings.Contains(banner, "admin.token") || strings.Contains(banner, token) {
		t.Errorf("banner names a token file or shows the token:\n%s", banner)
	}
}

// TestPrintBanner covers every place the management token can come from.
func TestPrintBanner(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	cases := []struct {
		name string
		cfg  app.Config
		want string
	}{
		{"embedded, token from the environment",
			app.Config{DataDir: "/srv/attach", AdminToken: "secret-admin-token-0123"},
			"with the token in ATTACH_ADMIN_TOKEN"},
		{"embedded, token made in the data folder",
			app.Config{DataDir: "/srv/attach"},
			"with the token in /srv/attach/admin.token"},
		{"database URL, token from the environment",
			app.Config{DatabaseURL: "postgres://db/attach", DataDir: "/srv/attach", AdminToken: "secret-admin-token-0123"},
			"with the token in ATTACH_ADMIN_TOKEN"},
		{"database URL, no token",
			app.Config{DatabaseURL: "postgres://db/attach", DataDir: "/srv/attach"},
			"management API: off; set ATTACH_ADMIN_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printBanner(&b, tc.cfg, addr, "")
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("banner lacks %q:\n%s", tc.want, b.String())
			}
			if tc.cfg.AdminToken != "" && (strings.Contains(b.String(), tc.cfg.AdminToken) || strings.Contains(b.String(), "admin.token")) {
				t.Errorf("banner shows the token or a token file:\n%s", b.String())
			}
		})
	}
}

// startCommand runs `attach name` on a database of its own, listening on a
// free loopback port, and returns the address its banner names. stop sends
// the process SIGTERM and checks that the command exits cleanly and stops
// answering. The tests that use it change the environment and signal the
// whole test process, so they cannot run in parallel.
func startCommand(t *testing.T, name string) (addr string, stop func()) {
	t.Helper()
	addr, _, stop = startCommandOut(t, name)
	return addr, stop
}

// startCommandOut is startCommand that also gives what the command has
// written to standard output so far.
func startCommandOut(t *testing.T, name string) (addr string, out func() string, stop func()) {
	t.Helper()
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("ATTACH_SECRET_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
	t.Setenv("ATTACH_DATA_DIR", t.TempDir()) // the memory journal, not in the checkout
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
	var rest testkit.Buffer
	go io.Copy(&rest, outR)
	out = func() string { return first + rest.String() }
	addr = strings.TrimSpace(first[strings.LastIndex(first, " ")+1:])
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("banner %q", first)
	}
	return addr, out, func() {
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
