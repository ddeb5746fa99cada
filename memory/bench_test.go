package memory

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkRecorder measures Record plus the batched write to Postgres:
// every exchange is a streamed chat (two events), and the clock stops
// only once Close has flushed them all.
func BenchmarkRecorder(b *testing.B) {
	pool := pgtestNew(b)
	team := mustTeam(b, pool, "bench")
	r, err := NewRecorder(pool, queuedSinks(b), tenants.NewDirectory(pool, nil, nil), RecorderOptions{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	x := chatExchange(team, "alice", "s1", "Why is the sky blue? Please explain in detail.")
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	for range b.N {
		r.Record(x)
	}
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	b.StopTimer()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM memory_events").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != 2*b.N {
		b.Fatalf("%d events stored, want %d", n, 2*b.N)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	// What mirroring costs the gateway's own process per exchange: the tap,
	// parsing, cleaning and the batched COPY, without Postgres's share.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "gateway-CPU-µs/exchange")
}

// processCPU is the CPU time this process has used so far, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingSink counts deliveries on top of another sink (or none) and says
// when a target is reached.
type countingSink struct {
	Sink
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func (s *countingSink) Name() string { return BackendPostgres }

func (s *countingSink) Deliver(ctx context.Context, teamID string, events []attach.Event) error {
	if s.Sink != nil {
		if err := s.Sink.Deliver(ctx, teamID, events); err != nil {
			return err
		}
	}
	if s.n.Add(int64(len(events))) == s.target {
		close(s.done)
	}
	return nil
}

// BenchmarkWorkerDelivery measures how fast one worker empties the outbox
// into a sink that keeps up: the Postgres sink, and a sink that only counts.
func BenchmarkWorkerDelivery(b *testing.B) {
	for _, name := range []string{"postgres", "counting"} {
		b.Run(name, func(b *testing.B) {
			pool := pgtestNew(b)
			teams := []string{mustTeam(b, pool, "a"), mustTeam(b, pool, "b"), mustTeam(b, pool, "c")}
			sink := &countingSink{target: int64(b.N), done: make(chan struct{})}
			if name == "postgres" {
				sink.Sink = NewPostgresSink(pool)
			}
			sinks := mustSinks(b, "", sink)
			s := mustStore(b, pool, sinks)
			for i := 0; i < b.N; i += 1000 {
				events := make([]attach.Event, min(1000, b.N-i))
				for j := range events {
					events[j] = attach.Event{TeamID: teams[(i/1000)%len(teams)], User: "u", Session: "s", Kind: attach.KindNote,
						Content: fmt.Sprintf("event %d: some words to index and deliver", i+j)}
				}
				if _, err := s.AddMany(context.Background(), events); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := pool.Exec(context.Background(), "VACUUM ANALYZE memory_outbox"); err != nil {
				b.Fatal(err)
			}
			w := mustWorker(b, pool, sinks, WorkerOptions{Logger: quietLogger()})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() { done <- w.Run(ctx) }()
			<-sink.done
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
