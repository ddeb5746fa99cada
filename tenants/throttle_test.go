package tenants

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignInLockoutPerAccount(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	acct, addr := AccountKey(" Ann@Example.com "), AddrKey("192.0.2.1")
	if acct != "account:ann@example.com" || addr != "addr:192.0.2.1" {
		t.Fatalf("keys = %q %q", acct, addr)
	}
	allowed := func(keys ...string) time.Duration {
		t.Helper()
		wait, err := s.SignInAllowed(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	for i := 1; i < accountPolicy.maxFailures; i++ {
		if err := s.SignInFailed(ctx, acct, addr); err != nil {
			t.Fatal(err)
		}
		if w := allowed(acct, addr); w != 0 {
			t.Fatalf("locked after %d failures (wait %v)", i, w)
		}
	}
	if err := s.SignInFailed(ctx, acct, addr); err != nil {
		t.Fatal(err)
	}
	w := allowed(acct, addr)
	if w <= accountPolicy.lock-time.Minute || w > accountPolicy.lock {
		t.Fatalf("after %d failures wait %v, want about %v", accountPolicy.maxFailures, w, accountPolicy.lock)
	}
	if w := allowed(acct); w == 0 {
		t.Fatal("the account alone is not locked")
	}
	if w := allowed(addr); w != 0 {
		t.Fatalf("the address is locked after %d failures (wait %v)", accountPolicy.maxFailures, w)
	}
	if w := allowed(AccountKey("bob@example.com"), addr); w != 0 {
		t.Fatal("another account from the same address is locked")
	}
	if w := allowed(); w != 0 {
		t.Fatal("no keys, yet locked")
	}

	// A success clears the account.
	if err := s.SignInSucceeded(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if w := allowed(acct); w != 0 {
		t.Fatalf("still locked after a success: %v", w)
	}
}

func TestSignInLockoutPerAddress(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	addr := AddrKey("198.51.100.9")
	for i := range addrPolicy.maxFailures {
		// A different account each time, as someone spraying one password.
		if err := s.SignInFailed(ctx, AccountKey(string(rune('a'+i))+"@example.com"), addr); err != nil {
			t.Fatal(err)
		}
		w, err := s.SignInAllowed(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if locked := w > 0; locked != (i == addrPolicy.maxFailures-1) {
			t.Fatalf("after %d failures from one address: wait %v", i+1, w)
		}
	}
	// Success for one account does not clear the address.
	if err := s.SignInSucceeded(ctx, AccountKey("a@example.com")); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.SignInAllowed(ctx, AccountKey("a@example.com"), addr); w == 0 {
		t.Fatal("the address was unlocked by one account's success")
	}
}

func TestSignInWindowAndLockEnd(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	ctx := testCtx(t)
	key := AccountKey("ann@example.com")
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

	if _, err := pool.Exec(ctx, "UPDATE sign_in_attempts SET window_start = now() - interval '1 hour'"); err != nil {
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
	key := AccountKey(strings.Repeat("x", 1000) + "@example.com")
	var wg sync.WaitGroup
	for i := range accountPolicy.maxFailures {
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
		t.Fatalf("%d concurrent failures did not lock the account: wait %v, %v", accountPolicy.maxFailures, w, err)
	}
}
