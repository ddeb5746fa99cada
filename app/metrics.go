package app

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus series. Labels are route patterns and
// status codes only, never team or user names, so cardinality stays bounded
// however many teams an install has.
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	upstream     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: newRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attach_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "attach_http_request_duration_seconds",
			Help:    "Time to answer a request (for streams: until the handler hands the stream over), by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "attach_upstream_duration_seconds",
			Help:    "Time from sending a request to an engine until its response headers arrive, by engine route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "status"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attach_auth_failures_total",
			Help: "Requests refused by authentication, by reason.",
		}, []string{"reason"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.upstream, m.authFailures)
	return m
}

// newRegistry is a registry with the Go runtime's and the process's series,
// which every attach process reports.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// ObserveUpstream implements proxy.Observer.
func (m *metrics) ObserveUpstream(_ string, route string, status int, d time.Duration) {
	m.upstream.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
