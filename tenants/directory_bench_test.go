package tenants

import (
	"fmt"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// BenchmarkDirectoryTeam measures the request path's lookup: a slug to a
// snapshot, then a model to an engine.
func BenchmarkDirectoryTeam(b *testing.B) {
	d := NewDirectory(nil, nil, nil)
	idx := &teamIndex{bySlug: map[string]*Snapshot{}, byID: map[string]*Snapshot{}}
	for i := range 1000 {
		team := attach.Team{ID: fmt.Sprint(i), Slug: fmt.Sprintf("team-%d", i)}
		engines := []attach.Engine{{Name: "a", Models: []string{"llama3", "qwen"}}, {Name: "b", Default: true}}
		s := NewSnapshot(team, nil, engines, nil, nil, uint64(i))
		idx.bySlug[team.Slug], idx.byID[team.ID] = s, s
	}
	d.publish(idx)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s, ok := d.Team("team-500")
			if !ok {
				b.Fatal("team missing")
			}
			if _, ok := s.Engine("qwen"); !ok {
				b.Fatal("engine missing")
			}
		}
	})
}
