package memory

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The outbox depth is counted when scraped, by any process: no worker runs
// here. A scrape while Postgres cannot answer lacks only that series.
func TestOutboxDepthIsCountedOnScrape(t *testing.T) {
	t.Parallel()
	dsn := pgtestDSN(t)
	pool := openPool(t, dsn)
	team := mustTeam(t, pool, "a")
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, pool); err != nil {
		t.Fatal(err)
	}
	// depth scrapes reg; ok says the series was there.
	depth := func() (n float64, ok bool) {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "attach_memory_outbox_pending" {
				return f.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	if n, ok := depth(); !ok || n != 0 {
		t.Fatalf("empty outbox: %v, %v", n, ok)
	}
	addEvents(t, mustStore(t, pool, queuedSinks(t)), 3, team)
	if n, ok := depth(); !ok || n != 3 {
		t.Fatalf("after 3 queued events: %v, %v", n, ok)
	}

	pool.Close()
	if _, ok := depth(); ok {
		t.Fatal("a depth was reported with the database closed")
	}
	families, err := reg.Gather()
	if err != nil || len(families) == 0 {
		t.Fatalf("the rest of the scrape: %d families, %v", len(families), err)
	}
}
