package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestConsoleE2EOwnerSignsInPastAGuesser: someone at another address
// guesses at the owner's password until the console throttles them; the
// owner then signs in with Chromium at once, and finds the guesses and the
// lock in the team's audit log.
func TestConsoleE2EOwnerSignsInPastAGuesser(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := newEngine(t)
	gw := startGateway(t, testConfig(t))
	u := consoleAccount(t, gw, "olive@example.test", "Olive Owner")
	teamWithEngine(t, gw, u, "lab", eng.URL(), "tiny")

	// The guesser posts the sign-in form from 127.0.0.2.
	guesser := formClientFrom(t, "127.0.0.2")
	for i := range 5 {
		if status := guesser.signIn(gw.URL, u.Email, "guess number "+strconv.Itoa(i)); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, status)
		}
	}
	if status := guesser.signIn(gw.URL, u.Email, e2ePassword); status != http.StatusTooManyRequests {
		t.Fatalf("the guesser with the right password: status %d, want 429", status)
	}

	// The owner, in Chromium at 127.0.0.1, signs in at once.
	ui := newConsoleUI(t)
	resp := ui.signIn(gw, u.Email, e2ePassword)
	// One team: the console opens it.
	if resp.Status != 200 || strings.TrimSuffix(ui.location().Path, "/") != "/console/t/lab" {
		ui.shot("01-owner-refused")
		t.Fatalf("the owner's sign-in: status %d at %s", resp.Status, ui.location())
	}
	if who := ui.text(`[data-testid="current-user"]`); who != "Olive Owner" {
		t.Errorf("signed in as %q", who)
	}
	ui.shot("01-owner-signed-in")

	ui.open(gw.URL + "/console/t/lab/audit")
	ui.waitVisible("#audit-table")
	rows := ui.text("#audit-table tbody")
	if n := strings.Count(rows, tenants.AuditSignInFailed); n != 5 {
		t.Errorf("the team's audit log shows %d failed sign-ins, want 5:\n%s", n, rows)
	}
	if !strings.Contains(rows, tenants.AuditSignInThrottle) || !strings.Contains(rows, "127.0.0.2") {
		t.Errorf("the team's audit log lacks the lock or the guesser's address:\n%s", rows)
	}
	if strings.Contains(rows, "guess number") || strings.Contains(rows, e2ePassword) {
		t.Errorf("the audit log shows a password:\n%s", rows)
	}
	ui.shot("02-audit-log")
}

// formClient posts the console's sign-in form from a chosen loopback
// address, as a script guessing passwords would.
type formClient struct {
	t *testing.T
	c *http.Client
}

func formClientFrom(t *testing.T, ip string) *formClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &formClient{t: t, c: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) }},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var signInCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn loads the sign-in page, posts the form and returns the status.
func (f *formClient) signIn(base, email, password string) int {
	f.t.Helper()
	resp, err := f.c.Get(base + "/console/signin")
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := signInCSRF.FindSubmatch(body)
	if m == nil {
		f.t.Fatalf("no CSRF field on the sign-in page (status %d)", resp.StatusCode)
	}
	form := url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {password}}
	resp, err = f.c.PostForm(base+"/console/signin", form)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
