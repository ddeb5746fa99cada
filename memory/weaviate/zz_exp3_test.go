package weaviate

import (
	"fmt"
	"testing"

	"github.com/attach-dev/attach-gateway/memory"
)

func BenchmarkAuto(b *testing.B) {
	for _, auto := range []bool{false, true} {
		for _, batch := range []int{1, 500} {
			b.Run(fmt.Sprint(auto, batch), func(b *testing.B) {
				s, err := New(testCtx(b), Config{URL: "http://127.0.0.1:47080", GRPCAddr: "127.0.0.1:47051", Class: testClass()})
				if err != nil {
					b.Fatal(err)
				}
				def := classDef(s.class + "x")
				def.MultiTenancyConfig.AutoTenantCreation = auto
				def.MultiTenancyConfig.AutoTenantActivation = auto
				if err := s.client.Schema().ClassCreator().WithClass(def).Do(testCtx(b)); err != nil {
					b.Fatal(err)
				}
				s.class = def.Class
				team := newTeam()
				batches := make([][]memory.Event, b.N)
				for i := range batches {
					batches[i] = makeEvents(b, team, "u", batch, func(j int) string { return fmt.Sprintf("Prompt %d of batch %d: explain how the gateway mirrors prompts and responses into memory.", j, i) })
				}
				b.ResetTimer()
				for i := range b.N {
					if err := s.Deliver(testCtx(b), team, batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
