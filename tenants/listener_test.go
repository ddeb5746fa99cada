package tenants

import (
	"context"
	"errors"
	"testing"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// One session serves every channel: each notice reaches its channel's
// handler, and after a handler fails or the connection is lost, every
// handler catches up (Ready) before notices flow again.
func TestListenerDispatchesAndCatchesUp(t *testing.T) {
	t.Parallel()
	_, pool := newTestStore(t)
	ctx := testCtx(t)
	type event struct{ channel, what string }
	events := make(chan event, 16)
	handler := func(channel string) Handler {
		return Handler{
			Ready: func(context.Context) error {
				events <- event{channel, "ready"}
				return nil
			},
			Notice: func(_ context.Context, payload string) error {
				events <- event{channel, payload}
				if payload == "fail" {
					return errors.New("cannot handle it")
				}
				return nil
			},
		}
	}
	logs := &testkit.Buffer{}
	l := NewListener(pool, testLogger(logs))
	l.Handle("test_a", handler("test_a"))
	l.Handle("test_b", handler("test_b"))
	testkit.Go(t, l.Run)

	// next returns the next events, n of them, in any order.
	next := func(n int) map[event]bool {
		t.Helper()
		got := map[event]bool{}
		for range n {
			select {
			case e := <-events:
				got[e] = true
			case <-ctx.Done():
				t.Fatalf("after %v: %v", got, ctx.Err())
			}
		}
		return got
	}
	want := func(got map[event]bool, want ...event) {
		t.Helper()
		for _, e := range want {
			if !got[e] {
				t.Fatalf("events %v lack %v", got, e)
			}
		}
	}
	notify := func(channel, payload string) {
		t.Helper()
		if _, err := pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	want(next(2), event{"test_a", "ready"}, event{"test_b", "ready"})
	notify("test_a", "one")
	notify("test_b", "two")
	want(next(2), event{"test_a", "one"}, event{"test_b", "two"})

	// A failing handler ends the session; both catch up on reconnecting.
	notify("test_b", "fail")
	want(next(3), event{"test_b", "fail"}, event{"test_a", "ready"}, event{"test_b", "ready"})
	notify("test_a", "three")
	want(next(1), event{"test_a", "three"})

	// So does a lost connection.
	waitListening(t, pool)
	pid, err := listenerPID(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	want(next(2), event{"test_a", "ready"}, event{"test_b", "ready"})
	notify("test_b", "four")
	want(next(1), event{"test_b", "four"})
}
