package quota

import (
	"context"
	"strconv"
	"testing"

	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkAdmit is the cost quotas add to a request, one at a time and
// from 32 goroutines at once:
// a team without quotas, and one with a team request limit, a token limit
// for every user and a request limit for every key (far above the load, so
// every request is admitted and leases come from Postgres now and then).
func BenchmarkAdmit(b *testing.B) {
	big, tokens := int64(tenants.MaxRPM), int64(tenants.MaxTokenLimit)
	for _, c := range []struct {
		name string
		q    *tenants.Quotas
	}{
		{"off", nil},
		{"on", tenants.NewQuotas(tenants.Limits{RPM: &big},
			[]tenants.UserLimits{{Subject: tenants.Any, Limits: tenants.Limits{TPM: &tokens}}},
			[]tenants.KeyLimits{{KeyID: tenants.Any, Limits: tenants.Limits{RPM: &big}}})},
	} {
		b.Run(c.name, func(b *testing.B) {
			team := teamWith(c.q)
			l := New(Config{DB: pgtest.New(b), Now: clock})
			ctx := context.Background()
			users := make([]string, 64)
			for i := range users {
				users[i] = "user-" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			b.Run("serial", func(b *testing.B) {
				for i := range b.N {
					if err := l.Admit(ctx, team, users[i%len(users)], "00000000-0000-4000-8000-0000000000aa", true); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("32-goroutines", func(b *testing.B) {
				// Every goroutine takes the same team and key buckets' locks
				// back to back: the worst case for contention.
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if err := l.Admit(ctx, team, users[i%len(users)], "00000000-0000-4000-8000-0000000000aa", true); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}
