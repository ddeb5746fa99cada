package usage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// ingest is an HTTP endpoint taking CloudEvent batches, failing the first
// fail requests with 503.
type ingest struct {
	mu      sync.Mutex
	fail    int
	status  int // answer after the failures; 202 when 0
	batches [][]CloudEvent
	headers []http.Header
}

func (g *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	var batch []CloudEvent
	if err := json.Unmarshal(b, &batch); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	g.batches = append(g.batches, batch)
	g.headers = append(g.headers, r.Header.Clone())
	if g.fail > 0 {
		g.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(max(g.status, http.StatusAccepted))
}

func (g *ingest) received() ([][]CloudEvent, []http.Header) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.batches, g.headers
}

// Records go out as CloudEvents with the token; a failed send is retried
// with the same event ids; an ingest's refusal drops the batch, counted.
func TestExportSendsCloudEvents(t *testing.T) {
	g := &ingest{fail: 1}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	e := NewExporter(ExportConfig{URL: srv.URL + "/api/v1/events", Token: "ingest-token", Logger: quietLog()})
	e.cfg.RetryMax = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	u := rec("team-1", "alice", "k1", "tiny", t0, 12, 3)
	e.Measure(u)
	waitFor(t, "the record exported", func() bool { return e.Sent() == 1 })
	batches, headers := g.received()
	if len(batches) != 2 || len(batches[0]) != 1 || batches[0][0].ID != batches[1][0].ID {
		t.Fatalf("batches %+v: want the same event sent twice", batches)
	}
	ev := batches[1][0]
	if ev.SpecVersion != "1.0" || ev.Type != EventType || ev.Subject != "team-1" || !ev.Time.Equal(t0) || ev.ID == "" ||
		ev.Data.PromptTokens != 12 || ev.Data.CompletionTokens != 3 || ev.Data.TotalTokens != 15 || ev.Data.User != "alice" ||
		ev.Data.KeyID != "k1" || ev.Data.Model != "tiny" || ev.Data.Status != 200 {
		t.Errorf("event %+v", ev)
	}
	if h := headers[1]; h.Get("Authorization") != "Bearer ingest-token" || h.Get("Content-Type") != "application/cloudevents-batch+json" {
		t.Errorf("headers %v", h)
	}
	if e.Failures() != 1 {
		t.Errorf("%d failures counted, want 1", e.Failures())
	}

	g.mu.Lock()
	g.status = http.StatusBadRequest
	g.mu.Unlock()
	e.Measure(u)
	waitFor(t, "the refused record dropped", func() bool { return e.Dropped() == 1 })
	if e.Sent() != 1 {
		t.Errorf("sent %d", e.Sent())
	}
}
