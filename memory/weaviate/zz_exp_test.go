package weaviate

import (
	"fmt"
	"testing"

	"github.com/weaviate/weaviate/entities/models"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

func BenchmarkExp(b *testing.B) {
	srv := weaviatetest.Shared(b)
	variants := map[string]func(c *models.Class){
		"current": func(c *models.Class) {},
		"lean": func(c *models.Class) {
			no := false
			for _, p := range c.Properties {
				switch p.Name {
				case propRole, propModel, propEngine, propTeamID, propTruncated, propCreatedAt:
					p.IndexFilterable = &no
					p.IndexRangeFilters = &no
				}
			}
		},
		"skipvec": func(c *models.Class) { c.VectorIndexConfig = map[string]any{"skip": true} },
		"bare": func(c *models.Class) {
			no := false
			for _, p := range c.Properties {
				if p.Name != propContent {
					p.IndexFilterable = &no
					p.IndexSearchable = &no
					p.IndexRangeFilters = &no
				}
			}
			c.VectorIndexConfig = map[string]any{"skip": true}
		},
	}
	for _, name := range []string{"current", "lean", "skipvec", "bare"} {
		b.Run(name, func(b *testing.B) {
			const batch = 500
			s := newSink(b, srv, true)
			def := classDef(s.class + "x")
			variants[name](def)
			if err := s.client.Schema().ClassCreator().WithClass(def).Do(testCtx(b)); err != nil {
				b.Fatal(err)
			}
			s.class = def.Class
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
		})
	}
}
