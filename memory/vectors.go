package memory

import (
	"context"
	"fmt"

	attach "github.com/attach-dev/attach-gateway"
)

// Embedder computes embedding vectors with a team's own engine (the one
// serving model), so a team's text never leaves for a model it did not
// choose.
type Embedder interface {
	Embed(ctx context.Context, teamID, model string, texts []string) ([][]float32, error)
}

// VectorSink is a sink that can also store and search by vectors.
type VectorSink interface {
	Sink
	DeliverWithVectors(ctx context.Context, teamID string, events []attach.Event, vectors [][]float32) error
	SearchVector(ctx context.Context, vector []float32, f Filter) ([]attach.Event, error)
}

// deliverTo delivers events to sink, with vectors when the team names an
// embedding model and both the sink and an embedder can use it.
func deliverTo(ctx context.Context, sink Sink, emb Embedder, teamID, model string, events []attach.Event) error {
	vs, ok := sink.(VectorSink)
	if !ok || emb == nil || model == "" {
		return sink.Deliver(ctx, teamID, events)
	}
	texts := make([]string, len(events))
	for i, e := range events {
		texts[i] = e.Content
	}
	vectors, err := emb.Embed(ctx, teamID, model, texts)
	if err != nil {
		return fmt.Errorf("embed with %s: %w", model, err)
	}
	if len(vectors) != len(events) {
		return fmt.Errorf("embed with %s: %d vectors for %d texts", model, len(vectors), len(events))
	}
	return vs.DeliverWithVectors(ctx, teamID, events, vectors)
}
