package identity_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/app/identity"
)

func TestKeyRotationAndRefetchLimit(t *testing.T) {
	t.Parallel()
	idp, team := startTeamIdP(t)
	clk := newClock()
	const minRefresh = time.Minute
	v := identity.NewVerifier(identity.Config{MinRefresh: minRefresh, Now: clk.Now, Logger: testLogger(t)})
	ctx := context.Background()

	before := idp.Token(t, "api://team-a")
	if _, err := v.Verify(ctx, team, before); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	if d, j := idp.Hits(t, "/.well-known/openid-configuration"), idp.Hits(t, "/jwks"); d != 1 || j != 1 {
		t.Fatalf("first verify made %d discovery and %d JWKS requests, want 1 and 1", d, j)
	}

	// The IdP rotates (its counters restart with it). A token under the new
	// kid verifies with the same Verifier once MinRefresh has passed since
	// the last fetch.
	idp.RotateKeys(t)
	clk.Advance(minRefresh)
	after := idp.Token(t, "api://team-a")
	if _, err := v.Verify(ctx, team, after); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if j := idp.Hits(t, "/jwks"); j != 1 {
		t.Fatalf("new kid made %d JWKS requests, want 1", j)
	}
	if d := idp.Hits(t, "/.well-known/openid-configuration"); d != 0 {
		t.Errorf("new kid made %d discovery requests, want 0 (jwks_uri is remembered)", d)
	}
	if _, err := v.Verify(ctx, team, before); err != nil {
		t.Fatalf("token from before the rotation: %v", err)
	}

	// A flood of made-up kids: no more fetches until MinRefresh has passed,
	// then exactly one for the whole flood.
	junk := func() {
		t.Helper()
		var wg sync.WaitGroup
		var wrong atomic.Int32
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := claimsAt(idp.Issuer(), "api://team-a", clk.Now())
				tok := craft(t, "ES256", idp.PrivateKey("ES256"), "junk-"+strconv.Itoa(i), "JWT", c)
				_, err := v.Verify(ctx, team, tok)
				if e := identity.AsError(err); e == nil || e.Reason != identity.ReasonUnknownKey {
					wrong.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wrong.Load(); n > 0 {
			t.Fatalf("%d junk-kid tokens were not refused as unknown_key", n)
		}
	}
	junk()
	if j := idp.Hits(t, "/jwks"); j != 1 {
		t.Fatalf("junk kids within MinRefresh made %d JWKS requests in all, want still 1", j)
	}
	clk.Advance(minRefresh)
	junk()
	if j := idp.Hits(t, "/jwks"); j != 2 {
		t.Fatalf("junk kids after MinRefresh made %d JWKS requests in all, want 2", j)
	}

	// Keys withdrawn by the IdP stop verifying once the keys are refetched.
	idp.ReplaceKeys(t)
	clk.Advance(minRefresh)
	newest := idp.Token(t, "api://team-a")
	if _, err := v.Verify(ctx, team, newest); err != nil {
		t.Fatalf("after replacing keys: %v", err)
	}
	fresh := snapshot("a", 2, trust(idp.Issuer(), "api://team-a")) // new version: no cached result
	if _, err := v.Verify(ctx, fresh, after); identity.AsError(err) == nil || identity.AsError(err).Reason != identity.ReasonUnknownKey {
		t.Fatalf("token under a withdrawn key: %v, want unknown_key", err)
	}
}

func TestConcurrentFirstFetchesCollapse(t *testing.T) {
	t.Parallel()
	idp, team := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	tokens := []string{
		idp.TokenAlg(t, "RS256", "api://team-a"), idp.TokenAlg(t, "PS256", "api://team-a"),
		idp.TokenAlg(t, "ES256", "api://team-a"), idp.TokenAlg(t, "EdDSA", "api://team-a"),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), team, tokens[i%len(tokens)]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("verify: %v", err)
	}
	if d, j := idp.Hits(t, "/.well-known/openid-configuration"), idp.Hits(t, "/jwks"); d != 1 || j != 1 {
		t.Errorf("64 concurrent first verifies made %d discovery and %d JWKS requests, want 1 and 1", d, j)
	}
}

func TestOldKeysRefreshedInBackground(t *testing.T) {
	t.Parallel()
	idp, team := startTeamIdP(t)
	clk := newClock()
	v := identity.NewVerifier(identity.Config{JWKSMaxAge: 5 * time.Minute, CacheSize: -1, Now: clk.Now, Logger: testLogger(t)})
	tok := idp.Token(t, "api://team-a")
	if _, err := v.Verify(context.Background(), team, tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(6 * time.Minute)
	// Old keys are served at once; the refetch happens behind the request.
	if _, err := v.Verify(context.Background(), team, tok); err != nil {
		t.Fatal(err)
	}
	for idp.Hits(t, "/jwks") < 2 {
		// Waits for the background fetch; the test's own deadline bounds it.
		time.Sleep(10 * time.Millisecond)
	}
	if j := idp.Hits(t, "/jwks"); j != 2 {
		t.Errorf("JWKS requests %d, want 2", j)
	}
}

func TestIssuerUnavailable(t *testing.T) {
	t.Parallel()
	// An issuer that accepts connections and drops them: it is down, and the
	// listener counts how often the verifier knocks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var knocks atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			knocks.Add(1)
			c.Close()
		}
	}()
	issuer := "http://user:s3cret@" + ln.Addr().String()
	clk := newClock()
	v := identity.NewVerifier(identity.Config{Now: clk.Now, MinRefresh: time.Minute, Logger: testLogger(t)})
	team := snapshot("a", 1, trust(issuer, "api://team-a"))
	tok := craft(t, "RS256", newRSAKey(t), "k1", "JWT", claimsAt(issuer, "api://team-a", clk.Now()))

	_, err = v.Verify(context.Background(), team, tok)
	e := wantReason(t, err, identity.ReasonIssuerUnavailable, tok)
	if strings.Contains(e.Error(), "s3cret") || strings.Contains(fmt.Sprint(errors.Unwrap(e)), "s3cret") {
		t.Errorf("error %q (cause %v) leaks the issuer's credentials", e.Error(), errors.Unwrap(e))
	}
	first := knocks.Load()
	if first == 0 {
		t.Fatal("the verifier never contacted the issuer")
	}
	// Within MinRefresh a down issuer is not asked again.
	for range 20 {
		_, err = v.Verify(context.Background(), team, tok)
		wantReason(t, err, identity.ReasonIssuerUnavailable, tok)
	}
	if n := knocks.Load(); n != first {
		t.Errorf("issuer contacted %d times, want %d (no retries within MinRefresh)", n, first)
	}
	// An issuer that never gave keys is tried again sooner than MinRefresh,
	// so a short IdP outage does not lock the team out for long.
	clk.Advance(6 * time.Second)
	_, err = v.Verify(context.Background(), team, tok)
	wantReason(t, err, identity.ReasonIssuerUnavailable, tok)
	if n := knocks.Load(); n <= first {
		t.Errorf("issuer not retried after 6s without keys (contacted %d times)", n)
	}

	// A caller that gives up gets its own cancellation back.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v2 := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	_, err = v2.Verify(ctx, team, tok)
	wantReason(t, err, identity.ReasonIssuerUnavailable, tok)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	idp, team := startTeamIdP(t)
	v := identity.NewVerifier(identity.Config{Logger: testLogger(t)})
	ctx := context.Background()

	n, err := v.Check(ctx, idp.Issuer())
	if err != nil || n != 3 {
		t.Fatalf("Check = %d, %v; want 3 keys (RSA, EC, Ed25519)", n, err)
	}
	// Check always asks the issuer, even right after a fetch.
	if _, err := v.Check(ctx, idp.Issuer()); err != nil {
		t.Fatal(err)
	}
	if j := idp.Hits(t, "/jwks"); j != 2 {
		t.Errorf("two Checks made %d JWKS requests, want 2", j)
	}
	// The keys Check fetched serve Verify.
	if _, err := v.Verify(ctx, team, idp.Token(t, "api://team-a")); err != nil {
		t.Fatal(err)
	}
	if j := idp.Hits(t, "/jwks"); j != 2 {
		t.Errorf("Verify after Check fetched keys again (%d JWKS requests)", j)
	}

	// The discovery document names the issuer without the slash: a
	// configured URL with one is a different issuer.
	_, err = v.Check(ctx, idp.Issuer()+"/")
	e := wantReason(t, err, identity.ReasonIssuerUnavailable, "")
	if !strings.Contains(e.Error(), "discovery document is for issuer") {
		t.Errorf("error %q does not explain the issuer mismatch", e.Error())
	}
	_, err = v.Check(ctx, "not a url")
	wantReason(t, err, identity.ReasonIssuerUnavailable, "")
	_, err = v.Check(ctx, idp.Issuer()+"/nowhere")
	wantReason(t, err, identity.ReasonIssuerUnavailable, "")
}
