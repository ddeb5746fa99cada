package weaviate

import (
	"fmt"
	"testing"

	"github.com/attach-dev/attach-gateway/memory"
)

func BenchmarkExt(b *testing.B) {
	for _, batch := range []int{1, 50, 500, 2000} {
		for _, g := range []bool{false, true} {
			b.Run(fmt.Sprint(batch, g), func(b *testing.B) { ext(b, batch, g) })
		}
	}
}

func ext(b *testing.B, batch int, g bool) {
	addr := ""
	if g {
		addr = "127.0.0.1:47051"
	}
	s, err := New(testCtx(b), Config{URL: "http://127.0.0.1:47080", GRPCAddr: addr, Class: testClass()})
	if err != nil {
		b.Fatal(err)
	}
	team := newTeam()
	batches := make([][]memory.Event, b.N)
	for i := range batches {
		batches[i] = makeEvents(b, team, fmt.Sprintf("user%d", i%7), batch, func(j int) string {
			return fmt.Sprintf("Prompt %d of batch %d: explain how the gateway mirrors prompts and responses into memory, and what happens when the store is down for a while.", j, i)
		})
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.Deliver(testCtx(b), team, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
