package weaviate

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

// BenchmarkDeliver measures delivery in batches of 500 new events of one
// team, over REST and over gRPC. It reports events per second, and the
// processor time Weaviate spent per event, which says what the machine
// could sustain when nothing else runs on it (2 cores / that time).
func BenchmarkDeliver(b *testing.B) {
	srv := weaviatetest.Shared(b)
	for _, path := range []struct {
		name     string
		grpc     bool
		inFlight int // batches sent at once, as several worker loops do
	}{{"rest", false, 1}, {"grpc", true, 1}, {"grpc-4-in-flight", true, 4}} {
		b.Run(path.name, func(b *testing.B) {
			const batch = 500
			s := newSink(b, srv, path.grpc)
			team := newTeam()
			ctx := testCtx(b)
			// Built ahead so only delivery is measured: prompts of a
			// couple of hundred bytes, as a chat produces.
			batches := make([][]attach.Event, b.N)
			for i := range batches {
				batches[i] = makeEvents(b, team, fmt.Sprintf("user%d", i%7), batch, func(j int) string {
					return fmt.Sprintf("Prompt %d of batch %d: explain how the gateway mirrors prompts and responses into memory, and what happens when the store is down for a while.", j, i)
				})
			}
			cpuBefore := cpuTime(b, srv)
			b.ResetTimer()
			var g errgroup.Group
			g.SetLimit(path.inFlight)
			for i := range b.N {
				g.Go(func() error { return s.Deliver(ctx, team, batches[i]) })
			}
			if err := g.Wait(); err != nil {
				b.Fatalf("Deliver: %v", err)
			}
			b.StopTimer()
			events := float64(b.N * batch)
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime(b, srv)-cpuBefore).Microseconds())/events, "weaviate-cpu-µs/event")
		})
	}
}

func cpuTime(b *testing.B, srv *weaviatetest.Server) time.Duration {
	b.Helper()
	d, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
