package weaviate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
)

func TestMain(m *testing.M) {
	code := weaviatetest.Main(m)
	pgtest.Stop() // the worker benchmark's Postgres, if it ran
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testClass is a class name of the test's own, so tests sharing one
// Weaviate never see each other's objects.
func testClass() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "T" + hex.EncodeToString(b)
}

// newSink opens a sink on srv with a class of the test's own. grpc chooses
// the batch path.
func newSink(t testing.TB, srv *weaviatetest.Server, grpc bool) *Sink {
	t.Helper()
	return newSinkConfig(t, srv, grpc, Config{Class: testClass()})
}

func newSinkConfig(t testing.TB, srv *weaviatetest.Server, grpc bool, cfg Config) *Sink {
	t.Helper()
	cfg.URL = srv.URL()
	if grpc {
		cfg.GRPCAddr = srv.GRPCAddr()
	}
	s, err := New(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// bothPaths runs f once with REST batches and once with gRPC batches.
func bothPaths(t *testing.T, f func(t *testing.T, grpc bool)) {
	t.Run("rest", func(t *testing.T) { f(t, false) })
	t.Run("grpc", func(t *testing.T) { f(t, true) })
}

// sinkOnBothPaths runs f with a sink on the shared server, once through
// REST and once through gRPC.
func sinkOnBothPaths(t *testing.T, f func(t *testing.T, srv *weaviatetest.Server, s *Sink)) {
	t.Helper()
	srv := weaviatetest.Shared(t)
	bothPaths(t, func(t *testing.T, grpc bool) { f(t, srv, newSink(t, srv, grpc)) })
}

func newTeam() string { return uuid.NewString() }

// makeEvents builds n events of team for user, with content from words.
func makeEvents(t testing.TB, team, user string, n int, content func(i int) string) []attach.Event {
	t.Helper()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]attach.Event, n)
	for i := range out {
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = attach.Event{
			ID:        id.String(),
			TeamID:    team,
			User:      user,
			Session:   fmt.Sprintf("sess-%d", i%3),
			Kind:      []string{attach.KindPrompt, attach.KindResponse}[i%2],
			Role:      []string{"user", "assistant"}[i%2],
			Model:     "tiny",
			Engine:    "ollama",
			Content:   content(i),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return out
}

func deliver(t testing.TB, s *Sink, team string, events []attach.Event) {
	t.Helper()
	if err := s.Deliver(testCtx(t), team, events); err != nil {
		t.Fatalf("Deliver %d events to %s: %v", len(events), team, err)
	}
}

func count(t testing.TB, s *Sink, team string) int {
	t.Helper()
	n, err := s.Count(testCtx(t), team)
	if err != nil {
		t.Fatalf("Count %s: %v", team, err)
	}
	return n
}

func ids(t testing.TB, s *Sink, team string) []string {
	t.Helper()
	got, err := s.IDs(testCtx(t), team)
	if err != nil {
		t.Fatalf("IDs %s: %v", team, err)
	}
	return got
}

func eventIDs(events []attach.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = strings.ToLower(e.ID)
	}
	return out
}
