package weaviate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkWorkerIntoWeaviate measures sustained delivery as it runs in the
// gateway: events committed to Postgres first, then one worker emptying the
// outbox into a real Weaviate. It reports events per second.
func BenchmarkWorkerIntoWeaviate(b *testing.B) {
	srv := weaviatetest.Shared(b)
	pool := pgtest.New(b)
	ctx := context.Background()
	var teams []string
	for _, slug := range []string{"a", "b", "c"} {
		t, err := tenants.NewStore(pool, nil).CreateTeam(ctx, tenants.TeamInput{Slug: slug, Name: slug})
		if err != nil {
			b.Fatal(err)
		}
		teams = append(teams, t.ID)
	}
	sink := newSinkConfig(b, srv, true, Config{Class: testClass()})
	sinks, err := memory.NewSinks(memory.BackendWeaviate, memory.NewPostgresSink(pool), sink)
	if err != nil {
		b.Fatal(err)
	}
	store, err := memory.NewStore(pool, sinks, tenants.NewStore(pool, nil), memory.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i += 500 {
		events := make([]attach.Event, min(500, b.N-i))
		for j := range events {
			events[j] = attach.Event{TeamID: teams[(i/500)%len(teams)], User: fmt.Sprintf("user%d", j%7), Session: "s",
				Kind: attach.KindPrompt, Content: fmt.Sprintf("Prompt %d: explain how the gateway mirrors prompts into memory.", i+j)}
		}
		if _, err := store.AddMany(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	w, err := memory.NewWorker(pool, sinks, memory.WorkerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- w.Run(wctx) }()
	for {
		var left int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM memory_outbox").Scan(&left); err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	got := 0
	for _, team := range teams {
		got += count(b, sink, team)
	}
	if got != b.N {
		b.Fatalf("Weaviate holds %d events, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
