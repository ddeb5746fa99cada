package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// TestAdminTokenFailuresAreThrottled guesses at the management token from
// one address: past the limit that address gets 429 with Retry-After, even
// with the right token, while another address is still served; every
// failure is logged with the address and never the token tried.
func TestAdminTokenFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	var logs testkit.Buffer
	gw := startGatewayWithLog(t, testConfig(t), slog.New(slog.NewJSONHandler(&logs, nil)))

	const guess = "guessed-admin-token-0123456789"
	refused := 0
	for range 30 {
		resp, body := call(t, "GET", gw.URL+"/admin/v1/teams", guess, "")
		if resp.StatusCode == 429 {
			if errorCode(t, body) != "too_many_requests" {
				t.Fatalf("429 body %s", body)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			break
		}
		if resp.StatusCode != 401 {
			t.Fatalf("wrong token: status %d %s", resp.StatusCode, body)
		}
		refused++
	}
	if refused == 30 {
		t.Fatal("30 wrong management tokens in a row and no 429")
	}
	if refused < 5 {
		t.Fatalf("throttled after %d failures: an operator's typo should not lock them out", refused)
	}

	// The right token from the throttled address waits too: otherwise the
	// limit would not slow a guesser down.
	resp, body := call(t, "GET", gw.URL+"/admin/v1/teams", gw.cfg.AdminToken, "")
	if resp.StatusCode != 429 {
		t.Fatalf("right token from the throttled address: %d %s", resp.StatusCode, body)
	}

	// Another address (loopback is all of 127/8) is served.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
	}).DialContext}}
	defer other.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", gw.URL+"/admin/v1/teams", nil)
	req.Header.Set("Authorization", "Bearer "+gw.cfg.AdminToken)
	r2, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("another address with the right token: %d", r2.StatusCode)
	}

	out := logs.String()
	if strings.Contains(out, guess) || strings.Contains(out, gw.cfg.AdminToken) {
		t.Fatal("a management token reached the log")
	}
	if n := strings.Count(out, "wrong management token"); n != refused {
		t.Errorf("%d failures logged, want %d:\n%s", n, refused, out)
	}
	if !strings.Contains(out, `"addr":"127.0.0.1"`) {
		t.Errorf("failures logged without the address:\n%s", out)
	}
}
