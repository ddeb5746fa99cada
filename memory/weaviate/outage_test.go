package weaviate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

// Weaviate hung, stopped, crashed: each time Deliver fails within the
// sink's timeout instead of hanging, and once Weaviate is back it works
// again with every earlier event still there.
func TestDeliverThroughWeaviateOutages(t *testing.T) {
	t.Parallel()
	srv := weaviatetest.Start(t)
	bothPaths(t, func(t *testing.T, grpc bool) {
		s := newSinkConfig(t, srv, grpc, Config{Class: testClass(), Timeout: 3 * time.Second})
		team := newTeam()
		// delivered must all be in Weaviate in the end; a delivery that
		// failed may have been written anyway (a hung server that resumes
		// handles the request it had already received), so its events may
		// be there, which a retry makes harmless.
		var delivered []attach.Event
		failed := map[string]bool{}
		round := 0
		next := func() []attach.Event {
			round++
			return makeEvents(t, team, "jo", 10, func(i int) string { return fmt.Sprintf("round %d event %d", round, i) })
		}
		ok := func(what string) {
			t.Helper()
			ev := next()
			if err := s.Deliver(context.Background(), team, ev); err != nil {
				t.Fatalf("%s: Deliver: %v", what, err)
			}
			delivered = append(delivered, ev...)
		}
		fails := func(what string) error {
			t.Helper()
			ev := next()
			for _, e := range ev {
				failed[e.ID] = true
			}
			err := s.Deliver(context.Background(), team, ev)
			if err == nil {
				t.Fatalf("%s: Deliver succeeded", what)
			}
			return err
		}

		ok("at first")

		srv.Pause(t)
		err := fails("while Weaviate hangs")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("while Weaviate hangs: %v, want a deadline error", err)
		}
		if _, err := s.Search(context.Background(), "round", memory.Filter{TeamID: team}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("search while Weaviate hangs: %v, want a deadline error", err)
		}
		srv.Resume(t)
		ok("after it resumes")

		srv.Stop(t)
		fails("while Weaviate is stopped")
		if _, err := s.Count(context.Background(), team); err == nil {
			t.Error("Count succeeded while Weaviate is stopped")
		}
		srv.Start(t)
		ok("after a restart")

		srv.Kill(t)
		fails("after Weaviate crashed")
		srv.Start(t)
		ok("after recovery")

		got := map[string]bool{}
		for _, id := range ids(t, s, team) {
			got[id] = true
			if !failed[id] && !slices.Contains(eventIDs(delivered), id) {
				t.Errorf("unknown object %s", id)
			}
		}
		for _, e := range delivered {
			if !got[e.ID] {
				t.Errorf("delivered event %s is missing", e.ID)
			}
		}
	})
}
