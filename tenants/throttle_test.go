package tenants

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignInKeys(t *testing.T) {
	t.Parallel()
	got := SignInKeys("192.0.2.1", " Ann@Example.com ")
	want := []string{"pair:192.0.2.1 ann@example.com", "addr:192.0.2.1", "account:ann@example.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("SignInKeys = %q, want %q", got, want)
	}
	// One IPv6 host holds a whole /64: all of it counts as one address.
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:DB8:1:2::1%eth0"} {
		if k := AddrKey(ip); k != "addr:2001:db8:1:2::/64" {
			t.Errorf("AddrKey(%q) = %q", ip, k)
		}
	}
	if k := AddrKey("2001:db8:1:3::1"); k == AddrKey("2001:db8:1:2::1") {
		t.Errorf("two /64 networks share the key %q", k)
	}
	if k := AddrKey("::ffff:192.0.2.7"); k != "addr:192.0.2.7" {
		t.Errorf("an IPv4-mapped address counts as %q", k)
	}
	if k := AdminKey("not an address"); k != "admin:not an address" {
		t.Errorf("AdminKey of garbage = %q", k)
	}
}

// TestSignInGuesserCannotLockOwnerOut: one address guessing at an account
// is locked out, and the account's owner signs in from another address.
func TestSignInGuesserCannotLockOwnerOut(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	attacker := SignInKeys("192.0.2.1", " Ann@Example.com ")
	owner := SignInKeys("198.51.100.7", "ann@example.com")
	allowed := func(keys ...string) time.Duration {
		t.Helper()
		wait, err := s.SignInAllowed(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	for i := 1; i < pairPolicy.maxFailures; i++ {
		if locks, err := s.SignInFailure(ctx, attacker...); err != nil || len(locks) != 0 {
			t.Fatalf("failure %d: locks %v, %v", i, locks, err)
		}
		if w := allowed(attacker...); w != 0 {
			t.Fatalf("locked after %d failures (wait %v)", i, w)
		}
	}
	locks, err := s.SignInFailure(ctx, attacker...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(locks, []ThrottleLock{{Scope: ThrottlePair, For: pairPolicy.lock}}) {
		t.Fatalf("locks after %d failures = %v, want the address and account pair", pairPolicy.maxFailures, locks)
	}
	w := allowed(attacker...)
	if w <= pairPolicy.lock-time.Minute || w > pairPolicy.lock {
		t.Fatalf("after %d failures wait %v, want about %v", pairPolicy.maxFailures, w, pairPolicy.lock)
	}
	// The owner, from another address, is not held up.
	if w := allowed(owner...); w != 0 {
		t.Fatalf("the owner at another address must wait %v", w)
	}
	// Nor is the attacker's address for other accounts.
	if w := allowed(SignInKeys("192.0.2.1", "bob@example.com")...); w != 0 {
		t.Fatal("another account from the same address is locked")
	}
	if w := allowed(); w != 0 {
		t.Fatal("no keys, yet locked")
	}

	// A success clears that address's count for the account only.
	if err := s.SignInSucceeded(ctx, attacker[0]); err != nil {
		t.Fatal(err)
	}
	if w := allowed(attacker...); w != 0 {
		t.Fatalf("still locked after a success: %v", w)
	}
}

// TestSignInSprayFromOneAddress: one address trying a password over many
// accounts is locked, for every account.
func TestSignInSprayFromOneAddress(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	const ip = "198.51.100.9"
	for i := range addrPolicy.maxFailures {
		// A different account each time, as someone spraying one password.
		locks, err := s.SignInFailure(ctx, SignInKeys(ip, string(rune('a'+i))+"@example.com")...)
		if err != nil {
			t.Fatal(err)
		}
		w, err := s.SignInAllowed(ctx, SignInKeys(ip, "z@example.com")...)
		if err != nil {
			t.Fatal(err)
		}
		last := i == addrPolicy.maxFailures-1
		if locked := w > 0; locked != last {
			t.Fatalf("after %d failures from one address: wait %v", i+1, w)
		}
		if last && !slices.Equal(locks, []ThrottleLock{{Scope: ThrottleAddr, For: addrPolicy.lock}}) {
			t.Fatalf("locks = %v, want the address", locks)
		}
	}
	// The same /64 is the same address.
	for i := range addrPolicy.maxFailures {
		ip := "2001:db8::" + strconv.Itoa(i+1)
		if err := s.SignInFailed(ctx, SignInKeys(ip, "v6-"+strconv.Itoa(i)+"@example.com")...); err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := s.SignInAllowed(ctx, SignInKeys("2001:db8::ffff", "z@example.com")...); w == 0 {
		t.Fatal("spraying from many addresses of one /64 is not throttled")
	}
	// Success for one account does not clear the address.
	if err := s.SignInSucceeded(ctx, PairKey(ip, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.SignInAllowed(ctx, SignInKeys(ip, "a@example.com")...); w == 0 {
		t.Fatal("the address was unlocked by one account's success")
	}
	// Another address is not.
	if w, _ := s.SignInAllowed(ctx, SignInKeys("198.51.100.10", "a@example.com")...); w != 0 {
		t.Fatalf("another address must wait %v", w)
	}
}

// TestSignInDistributedGuessingIsDelayed: failures from many addresses at
// one account delay it for a short while, each further failure again,
// rather than locking it for long.
func TestSignInDistributedGuessingIsDelayed(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	const email = "cy@example.com"
	from := func(i int) []string { return SignInKeys("203.0.113."+strconv.Itoa(i%250+1), email) }
	for i := range accountPolicy.maxFailures {
		locks, err := s.SignInFailure(ctx, from(i)...)
		if err != nil {
			t.Fatal(err)
		}
		if last := i == accountPolicy.maxFailures-1; last != (len(locks) == 1) {
			t.Fatalf("after %d failures locks = %v", i+1, locks)
		}
	}
	w, err := s.SignInAllowed(ctx, from(100)...)
	if err != nil {
		t.Fatal(err)
	}
	if w <= 0 || w > accountPolicy.lock {
		t.Fatalf("the owner at a fresh address waits %v, want a delay of at most %v", w, accountPolicy.lock)
	}
	// The delay passes; the next failure in the window delays again, at
	// once, rather than after a fresh count.
	if _, err := pool.Exec(ctx, "UPDATE sign_in_attempts SET locked_until = now() - interval '1 second' WHERE key = $1", AccountKey(email)); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.SignInAllowed(ctx, from(101)...); w != 0 {
		t.Fatalf("still delayed after the delay: %v", w)
	}
	locks, err := s.SignInFailure(ctx, from(102)...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(locks, []ThrottleLock{{Scope: ThrottleAccount, For: accountPolicy.lock}}) {
		t.Fatalf("locks = %v, want the account delayed again", locks)
	}
}

func TestSignInWindowAndLockEnd(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	key := PairKey("192.0.2.1", "ann@example.com")
	failures := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, "SELECT failures FROM sign_in_attempts WHERE key = $1", key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 4 {
		if err := s.SignInFailed(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if n := failures(); n != 4 {
		t.Fatalf("failures = %d", n)
	}
	// Failures older than the window no longer count.
	if _, err := pool.Exec(ctx, "UPDATE sign_in_attempts SET window_start = now() - interval '16 minutes'"); err != nil {
		t.Fatal(err)
	}
	if err := s.SignInFailed(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n := failures(); n != 1 {
		t.Fatalf("failures after the window = %d, want a fresh count of 1", n)
	}
	for range 4 {
		if err := s.SignInFailed(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := s.SignInAllowed(ctx, key); w == 0 {
		t.Fatal("not locked")
	}
	// The lock ends by itself, and the count starts afresh.
	if _, err := pool.Exec(ctx, "UPDATE sign_in_attempts SET locked_until = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	if w, err := s.SignInAllowed(ctx, key); err != nil || w != 0 {
		t.Fatalf("after the lock: wait %v, %v", w, err)
	}
	if n := failures(); n != 0 {
		t.Fatalf("count after a lock = %d, want 0", n)
	}

	if _, err := pool.Exec(ctx, "UPDATE sign_in_attempts SET window_start = now() - interval '2 hours'"); err != nil {
		t.Fatal(err)
	}
	if err := s.SignInFailed(ctx, AccountKey("fresh@example.com")); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteStaleSignInAttempts(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteStaleSignInAttempts = %d, %v; want 1", n, err)
	}
}

func TestSignInFailuresCountedAcrossReplicas(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	other := NewStore(pool, nil) // a second replica on the same database
	key := PairKey("192.0.2.1", strings.Repeat("x", 1000)+"@example.com")
	var wg sync.WaitGroup
	for i := range pairPolicy.maxFailures {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if i%2 == 1 {
				st = other
			}
			if err := st.SignInFailed(ctx, key, AddrKey("192.0.2.1")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if w, err := other.SignInAllowed(ctx, key); err != nil || w == 0 {
		t.Fatalf("%d concurrent failures did not lock the account: wait %v, %v", pairPolicy.maxFailures, w, err)
	}
}

func FuzzClientNet(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.7", "fe80::1%eth0", "", "not an address", "2001:db8::1/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		n := clientNet(ip)
		if n != clientNet(ip) {
			t.Fatalf("clientNet(%q) not stable", ip)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(ip))
		if err != nil {
			if n != ip {
				t.Fatalf("clientNet(%q) = %q, want it as it is", ip, n)
			}
			return
		}
		a = a.Unmap()
		if a.Is4() {
			if n != a.String() {
				t.Fatalf("clientNet(%q) = %q", ip, n)
			}
			return
		}
		p, err := netip.ParsePrefix(n)
		if err != nil || p.Bits() != 64 || !p.Contains(a.WithZone("")) {
			t.Fatalf("clientNet(%q) = %q, want the /64 holding it", ip, n)
		}
	})
}
