package usage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// EventType is the CloudEvents type of an exported usage record.
const EventType = "dev.attach.usage"

// ExportConfig says where usage records go as CloudEvents: an ingest URL
// that takes a batch of them (application/cloudevents-batch+json), as
// OpenMeter's /api/v1/events does, with a bearer token.
type ExportConfig struct {
	URL, Token string
	Client     *http.Client // default: a client with a 10 s timeout
	// Buffer bounds the records waiting to be sent (default 10,000);
	// beyond it they are dropped and counted. BatchSize records go in one
	// request (default 100).
	Buffer, BatchSize int
	// RetryMax bounds the wait between tries (default 30 s).
	RetryMax time.Duration
	Logger   *slog.Logger
}

// Exporter sends each usage record to an ingest URL as a CloudEvent, in
// batches, retrying failed sends with a growing wait; Measure never waits
// on it.
type Exporter struct {
	cfg            ExportConfig
	in             chan event
	sent, dropped  atomic.Int64
	failedAttempts atomic.Int64
}

// CloudEvent is one exported record (CloudEvents 1.0, structured mode).
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	Type            string    `json:"type"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            EventData `json:"data"`
}

// EventData is a record's content. The subject of the event is the team.
type EventData struct {
	User             string `json:"user"`
	KeyID            string `json:"key_id,omitempty"`
	Agent            string `json:"agent,omitempty"`
	Engine           string `json:"engine"`
	Model            string `json:"model"`
	Path             string `json:"path"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	TotalTokens      int    `json:"total_tokens"`
	Estimated        bool   `json:"estimated"`
	Status           int    `json:"status"`
	LatencyMS        int64  `json:"latency_ms"`
}

type event struct {
	id string
	u  attach.Usage
}

// NewExporter prepares an exporter; Run sends.
func NewExporter(cfg ExportConfig) *Exporter {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 10_000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Exporter{cfg: cfg, in: make(chan event, cfg.Buffer)}
}

// Measure queues a record for export; when the queue is full it is
// dropped and counted.
func (e *Exporter) Measure(u attach.Usage) {
	// The id is made once, so that a batch sent again after a failure
	// is recognised by the ingest as the same events.
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	select {
	case e.in <- event{id: hex.EncodeToString(b), u: u}:
	default:
		e.dropped.Add(1)
	}
}

// Sent and Dropped count the records exported and given up.
func (e *Exporter) Sent() int64    { return e.sent.Load() }
func (e *Exporter) Dropped() int64 { return e.dropped.Load() }

// Failures counts the sends that failed (and were tried again).
func (e *Exporter) Failures() int64 { return e.failedAttempts.Load() }

// Run sends batches until ctx ends.
func (e *Exporter) Run(ctx context.Context) {
	wait := min(time.Second, e.cfg.RetryMax)
	for {
		var batch []event
		select {
		case ev := <-e.in:
			batch = append(batch, ev)
		case <-ctx.Done():
			e.abandon(0)
			return
		}
	fill:
		for len(batch) < e.cfg.BatchSize {
			select {
			case ev := <-e.in:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		for {
			err := e.send(ctx, batch)
			if err == nil {
				e.sent.Add(int64(len(batch)))
				wait = min(time.Second, e.cfg.RetryMax)
				break
			}
			e.failedAttempts.Add(1)
			if _, ok := err.(*refused); ok {
				e.cfg.Logger.Error("usage export refused; records dropped", "records", len(batch), "err", err)
				e.dropped.Add(int64(len(batch)))
				break
			}
			e.cfg.Logger.Warn("usage export failed; trying again", "records", len(batch), "wait", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				e.abandon(len(batch))
				return
			}
			wait = min(2*wait, e.cfg.RetryMax)
		}
	}
}

// abandon counts what is left unsent when the exporter stops: held, plus
// whatever waits in the queue.
func (e *Exporter) abandon(held int) {
	n := held + len(e.in)
	if n > 0 {
		e.dropped.Add(int64(n))
		e.cfg.Logger.Warn("usage export stopped with records unsent", "records", n)
	}
}

func (e *Exporter) send(ctx context.Context, batch []event) error {
	events := make([]CloudEvent, len(batch))
	for i, ev := range batch {
		u := ev.u
		events[i] = CloudEvent{
			SpecVersion: "1.0", Type: EventType, ID: ev.id, Source: "attach-gateway",
			Subject: u.TeamID, Time: u.Time.UTC(), DataContentType: "application/json",
			Data: EventData{
				User: u.User, KeyID: u.KeyID, Agent: u.Agent, Engine: u.Engine, Model: u.Model, Path: u.Path,
				PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.Tokens(),
				Estimated: u.Estimated, Status: u.Status, LatencyMS: u.Latency.Milliseconds(),
			},
		}
	}
	body, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("encode usage events: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("usage export request: %w", err)
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	if e.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+e.cfg.Token)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("send usage events: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return &refused{resp.Status}
	}
	return fmt.Errorf("usage ingest answered %s", resp.Status)
}

// refused is an ingest's refusal of a batch as such (a 4xx other than 408
// and 429): sending it again would be refused again.
type refused struct{ status string }

func (r *refused) Error() string { return "usage ingest refused the events: " + r.status }
