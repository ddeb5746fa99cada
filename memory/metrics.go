package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	attach "github.com/attach-dev/attach-gateway"
)

// Metrics are the memory bus's Prometheus series. Labels are event kinds
// and sink names only, never teams or users, so cardinality stays bounded.
// A nil *Metrics records nothing, so every part works without one.
type Metrics struct {
	lag             prometheus.Histogram
	delivered       *prometheus.CounterVec
	failures        *prometheus.CounterVec
	waits           prometheus.Counter
	recorded        *prometheus.CounterVec
	recordFailures  prometheus.Counter
	recorderQueued  prometheus.Gauge
	erasures        prometheus.Counter
	recorderBatches prometheus.Histogram
	journaled       prometheus.Counter
	replayed        prometheus.Counter
	dropped         prometheus.Counter
	refused         prometheus.Counter
}

// NewMetrics creates the series and registers them on reg, with the
// outbox's depth in pool's database. Make one per process and hand it to
// the recorder, the worker and the store.
func NewMetrics(reg prometheus.Registerer, pool *pgxpool.Pool) (*Metrics, error) {
	m := &Metrics{
		lag: histogram("attach_memory_delivery_lag_seconds",
			"Time from an event being stored in Postgres to its delivery to the team's sink.",
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}),
		delivered: counterBy("sink", "attach_memory_delivered_total",
			"Events delivered to a sink, by sink."),
		failures: counterBy("sink", "attach_memory_delivery_failures_total",
			"Failed deliveries or erasures (each retried later), by sink."),
		waits: counter("attach_memory_recorder_backpressure_waits_total",
			"Times the proxy waited because the recorder's queue was full."),
		recorded: counterBy("kind", "attach_memory_events_recorded_total",
			"Events stored in Postgres, by kind."),
		recordFailures: counter("attach_memory_record_failures_total",
			"Events the recorder could not store (a team deleted meanwhile, data Postgres refused, or shutdown ran out of time)."),
		recorderQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attach_memory_recorder_queue",
			Help: "Exchanges waiting in the recorder's queue.",
		}),
		erasures: counter("attach_memory_erasures_total",
			"Users' events erased from the sinks."),
		recorderBatches: histogram("attach_memory_recorder_batch_events",
			"Events written per recorder batch.",
			[]float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000}),
		journaled: counter("attach_memory_journaled_events_total",
			"Events written to the local journal because Postgres could not take them."),
		replayed: counter("attach_memory_replayed_events_total",
			"Events replayed from the local journal into Postgres."),
		dropped: counter("attach_memory_dropped_events_total",
			"Events not recorded because the recorder was full (ATTACH_MEM_ON_FULL=drop)."),
		refused: counter("attach_memory_refused_requests_total",
			"Requests answered 503 before reaching the engine because the recorder was full (ATTACH_MEM_ON_FULL=refuse)."),
	}
	depth := outboxDepth{pool: pool, desc: prometheus.NewDesc("attach_memory_outbox_pending",
		"Events waiting in the outbox for delivery to their sink, counted when scraped.", nil, nil)}
	for _, c := range []prometheus.Collector{depth, m.lag, m.delivered, m.failures, m.waits,
		m.recorded, m.recordFailures, m.recorderQueued, m.erasures, m.recorderBatches,
		m.journaled, m.replayed, m.dropped, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register memory metrics: %w", err)
		}
	}
	return m, nil
}

// counter, counterBy and histogram make the series of NewMetrics, each
// with a name, a help text and at most one label.
func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func counterBy(label, name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}

func (m *Metrics) deliveredTo(sink string, n int, lags []time.Duration) {
	if m == nil {
		return
	}
	m.delivered.WithLabelValues(sink).Add(float64(n))
	for _, l := range lags {
		m.lag.Observe(l.Seconds())
	}
}

func (m *Metrics) failed(sink string) {
	if m != nil {
		m.failures.WithLabelValues(sink).Inc()
	}
}

func (m *Metrics) waited() {
	if m != nil {
		m.waits.Inc()
	}
}

func (m *Metrics) stored(events []attach.Event) {
	if m == nil {
		return
	}
	for _, e := range events {
		m.recorded.WithLabelValues(e.Kind).Inc()
	}
}

func (m *Metrics) recordFailed(n int) {
	if m != nil && n > 0 {
		m.recordFailures.Add(float64(n))
	}
}

func (m *Metrics) queued(delta int) {
	if m != nil {
		m.recorderQueued.Add(float64(delta))
	}
}

// add counts n on c, when there are metrics.
func (m *Metrics) add(c func(*Metrics) prometheus.Counter, n int) {
	if m != nil && n > 0 {
		c(m).Add(float64(n))
	}
}

func (m *Metrics) erased() {
	if m != nil {
		m.erasures.Inc()
	}
}

func (m *Metrics) batch(n int) {
	if m != nil {
		m.recorderBatches.Observe(float64(n))
	}
}

// outboxDepth counts the events waiting in the outbox each time it is
// scraped, so that every process serving /metrics reports it, whether it
// delivers or not.
type outboxDepth struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func (o outboxDepth) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

// Collect waits for Postgres briefly: a scrape must not hang on it. When
// the count fails, this scrape lacks the series and keeps the others.
func (o outboxDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	if err := o.pool.QueryRow(ctx, "SELECT count(*) FROM memory_outbox").Scan(&n); err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(n))
}
