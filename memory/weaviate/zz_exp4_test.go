package weaviate

import (
	"fmt"
	"sync"
	"testing"

	"github.com/weaviate/weaviate/entities/models"

	"github.com/attach-dev/attach-gateway/memory"
)

func BenchmarkPar(b *testing.B) {
	for _, par := range []int{1, 2, 4} {
		b.Run(fmt.Sprint(par), func(b *testing.B) {
			s, err := New(testCtx(b), Config{URL: "http://127.0.0.1:47080", GRPCAddr: "127.0.0.1:47051", Class: testClass()})
			if err != nil {
				b.Fatal(err)
			}
			team := newTeam()
			tenant, _ := TenantName(team)
			if err := s.ensureTenant(testCtx(b), tenant); err != nil {
				b.Fatal(err)
			}
			batches := make([][]memory.Event, b.N)
			for i := range batches {
				batches[i] = makeEvents(b, team, "u", 500, func(j int) string { return fmt.Sprintf("Prompt %d of batch %d: explain how the gateway mirrors prompts and responses into memory, and what happens when the store is down for a while.", j, i) })
			}
			b.ResetTimer()
			for i := range b.N {
				objs := make([]*models.Object, 500)
				for j := range objs {
					objs[j] = s.object(&batches[i][j], tenant)
				}
				var wg sync.WaitGroup
				n := 500 / par
				for p := range par {
					wg.Go(func() {
						if err := s.batch(testCtx(b), objs[p*n:(p+1)*n]); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
