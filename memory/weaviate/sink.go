// Package weaviate is the memory sink that mirrors a team's events into
// Weaviate, for keyword (BM25) and vector search.
//
// All teams share one class (MemoryEvent by default) with Weaviate's native
// multi-tenancy: each team is a tenant of its own, so one team's events are
// stored in their own shard and no query can reach another team's. Every
// event is stored under its own id, which makes delivery idempotent: a batch
// delivered twice leaves one object per event.
package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	wv "github.com/weaviate/weaviate-go-client/v4/weaviate"

	"github.com/attach-dev/attach-gateway/memory"
)

// DefaultClass is the Weaviate class events are stored in.
const DefaultClass = "MemoryEvent"

// defaultTimeout bounds each call to Weaviate when Config.Timeout is zero.
const defaultTimeout = 30 * time.Second

// Config says where Weaviate is.
type Config struct {
	// URL of the REST API, http(s)://host[:port]. It must not hold
	// credentials: put an API key in APIKey.
	URL string
	// GRPCAddr is host:port of Weaviate's gRPC API. When set, batches are
	// written over gRPC, which is faster; everything else uses REST. TLS is
	// used when URL is https.
	GRPCAddr string
	// APIKey, when set, is sent as a Bearer token on every request.
	APIKey string
	// Class is the Weaviate class to use; DefaultClass when empty. Gateways
	// sharing a Weaviate must use the same class to see the same memory.
	Class string
	// Timeout bounds each call to Weaviate (a whole batch, a search);
	// 30 seconds when zero.
	Timeout time.Duration
}

// Sink writes events to Weaviate and searches them. It is safe for
// concurrent use.
type Sink struct {
	client  *wv.Client
	http    *http.Client
	grpc    *grpcBatcher // nil: batches go over REST
	class   string
	timeout time.Duration

	// tenants holds the tenant names this process has created or found, so
	// each is created at most once per process.
	tenants sync.Map
}

var _ memory.Sink = (*Sink)(nil)

// classNameRE is Weaviate's rule for class names.
var classNameRE = regexp.MustCompile(`^[A-Z][_0-9A-Za-z]{0,229}$`)

// New connects to Weaviate and makes sure the class exists with the
// properties events need, creating it when missing. Several gateways may
// call New at once against an empty Weaviate: whichever creates the class
// first wins and the others use it.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	class := cfg.Class
	if class == "" {
		class = DefaultClass
	}
	if !classNameRE.MatchString(class) {
		return nil, fmt.Errorf("weaviate: class name %q is not valid (a capital letter, then letters, digits or _)", class)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	var headers map[string]string
	if cfg.APIKey != "" {
		headers = map[string]string{"Authorization": "Bearer " + cfg.APIKey}
	}
	// A transport of our own, so Close can drop its idle connections and
	// a batch worker's parallel requests reuse connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16
	hc := &http.Client{Transport: transport, Timeout: timeout}
	client, err := wv.NewClient(wv.Config{
		Scheme:           u.Scheme,
		Host:             u.Host,
		Headers:          headers,
		ConnectionClient: hc,
		Timeout:          timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate: make client for %s: %w", u.Redacted(), err)
	}
	s := &Sink{client: client, http: hc, class: class, timeout: timeout}
	if cfg.GRPCAddr != "" {
		g, err := dialGRPC(cfg.GRPCAddr, u.Scheme == "https", cfg.APIKey)
		if err != nil {
			return nil, err
		}
		s.grpc = g
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.ensureClass(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// parseURL checks the REST URL: a scheme and host only, and no credentials,
// which would otherwise end up in error messages.
func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("weaviate: URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("weaviate: URL is not a valid URL")
	}
	if u.User != nil {
		return nil, errors.New("weaviate: URL must not hold credentials; set the API key instead")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("weaviate: URL %s must start with http:// or https://", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("weaviate: URL %s has no host", u.Redacted())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("weaviate: URL must be the server's root, scheme://host[:port], without a path or query")
	}
	return u, nil
}

// Name is the backend name, memory.BackendWeaviate.
func (s *Sink) Name() string { return memory.BackendWeaviate }

// Class is the Weaviate class the sink stores events in.
func (s *Sink) Class() string { return s.class }

// Close releases the sink's connections. The sink must not be used after.
func (s *Sink) Close() error {
	s.http.CloseIdleConnections()
	if s.grpc != nil {
		return s.grpc.close()
	}
	return nil
}

// bound gives one call to Weaviate at most the configured timeout.
func (s *Sink) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}
