package console

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

// browserFrom is a browser whose connections come from the loopback
// address ip (any of 127.0.0.0/8 works on Linux), so the console sees
// another client address.
func (e *env) browserFrom(ip string) *browser {
	e.t.Helper()
	b := e.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	b.c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	return b
}

// TestSignInGuesserCannotLockOwnerOut: an address that guesses at an
// account's password is throttled, with the right password too, while the
// owner signs in from another address; the failures and the lock are in
// the audit logs of the install and of the owner's team, without the
// password.
func TestSignInGuesserCannotLockOwnerOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.localUser("ola@example.test")
	team := e.team("ola-team", owner)
	attacker := e.browserFrom("127.0.0.2")
	const guess = "hunter2-guess-"
	for i := range 5 {
		p := signInForm(t, attacker, "ola@example.test", guess+strconv.Itoa(i), "")
		wantStatus(t, p, http.StatusUnauthorized)
		wantContains(t, p, "Wrong email or password.")
	}
	p := signInForm(t, attacker, "OLA@example.test", testPassword, "")
	wantStatus(t, p, http.StatusTooManyRequests)
	wantContains(t, p, "Too many failed sign-ins. Try again in 15 minutes.")
	if attacker.cookie("attach_session") != "" {
		t.Fatal("a throttled sign-in set a session")
	}

	// The owner, from another address, signs in at once.
	b := e.browserFrom("127.0.0.3")
	wantRedirect(t, signInForm(t, b, "ola@example.test", testPassword, ""), Base+"/")
	if b.cookie("attach_session") == "" {
		t.Fatal("the owner got no session")
	}
	// The attacker's address is still throttled for the account.
	wantStatus(t, signInForm(t, attacker, "ola@example.test", testPassword, ""), http.StatusTooManyRequests)

	ctx := testCtx(t)
	for _, teamID := range []string{"", team.ID} {
		list, _, err := e.store.ListAudit(ctx, teamID, tenants.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var failed, throttled int
		for _, a := range list {
			switch a.Action {
			case tenants.AuditSignInFailed:
				failed++
				if a.ActorIP != "127.0.0.2" || a.TargetID != owner.ID {
					t.Errorf("failed sign-in row %+v", a)
				}
			case tenants.AuditSignInThrottle:
				throttled++
				if a.Detail["scope"] != tenants.ThrottlePair || a.Detail["seconds"] != float64(900) || a.ActorIP != "127.0.0.2" {
					t.Errorf("throttle row %+v", a)
				}
			}
			if strings.Contains(a.ActorName+a.TargetName+a.ActorIP, guess) || strings.Contains(strconv.Quote(a.ActorName), testPassword) {
				t.Errorf("a row holds a password: %+v", a)
			}
			for _, v := range a.Detail {
				if s, ok := v.(string); ok && (strings.Contains(s, guess) || strings.Contains(s, testPassword)) {
					t.Errorf("a row's detail holds a password: %+v", a)
				}
			}
		}
		// Refused tries while throttled are not rows: the lock is.
		if failed != 5 || throttled != 1 {
			t.Errorf("log of team %q: %d failed sign-ins and %d locks, want 5 and 1", teamID, failed, throttled)
		}
	}
}

// TestSignInSprayIsThrottled: one address trying a password over many
// accounts is throttled, for an account it has not tried yet too.
func TestSignInSprayIsThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.localUser("pam@example.test")
	sprayer := e.browserFrom("127.0.0.4")
	for i := range 20 {
		p := signInForm(t, sprayer, "user"+strconv.Itoa(i)+"@example.test", "Spring2026!", "")
		wantStatus(t, p, http.StatusUnauthorized)
	}
	p := signInForm(t, sprayer, "pam@example.test", testPassword, "")
	wantStatus(t, p, http.StatusTooManyRequests)
	list, _, err := e.store.ListAudit(testCtx(t), "", tenants.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if a := list[0]; a.Action != tenants.AuditSignInThrottle || a.Detail["scope"] != tenants.ThrottleAddr {
		t.Errorf("newest install-wide row %+v, want the address's lock", a)
	}
	// Another address signs in.
	wantRedirect(t, signInForm(t, e.browserFrom("127.0.0.5"), "pam@example.test", testPassword, ""), Base+"/")
}
