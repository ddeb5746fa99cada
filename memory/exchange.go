package memory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// exchangeEvents turns an exchange that ended at end into its prompt and
// response events, cleaned and with ids.
func (c cleaner) exchangeEvents(x attach.Exchange, end time.Time) ([]attach.Event, error) {
	p := dialect.ReadPrompt(x.Path, x.Request)
	model := x.Model
	if model == "" {
		model = p.Model
	}
	start := x.Start
	if start.IsZero() {
		start = end
	}
	promptID, err := attach.NewID()
	if err != nil {
		return nil, err
	}
	content, cut := c.text(p.Text)
	meta, err := c.promptMetadata(x.Path, &p)
	if err != nil {
		return nil, err
	}
	promptEv := attach.Event{
		ID: promptID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: attach.KindPrompt, Role: p.Role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut, Metadata: meta, CreatedAt: start.UTC(),
	}

	a := dialect.ReadAnswer(x.Response)
	rm := responseMeta{
		PromptID: promptID, Status: x.Status, DurationMS: end.Sub(start).Milliseconds(),
		FinishReason: c.clean(a.FinishReason), PromptTokens: a.PromptTokens, CompletionTokens: a.CompletionTokens,
		Stopped:     x.Stopped,
		ServedModel: c.clean(attach.CutUTF8(a.Model, maxServedModel)),
	}
	role := a.Role
	if role == "" {
		role = "assistant"
	}
	text := a.Text
	switch {
	case x.Status >= 400:
		// The error text is what there is to remember of a failed call.
		role = ""
		text = a.Error
		if text == "" {
			text = strings.TrimSpace(string(x.Response))
		}
		rm.Error = true
	case a.Error != "":
		// Ollama reports a failure mid-stream as a final {"error": ...}.
		rm.Error = c.clean(a.Error)
	case a.Unreadable:
		text = string(x.Response)
		rm.Unparsed = true
	}
	responseID, err := attach.NewID()
	if err != nil {
		return nil, err
	}
	content, cut = c.text(text)
	meta, err = gatewayMetadata(&rm)
	if err != nil {
		return nil, err
	}
	responseEv := attach.Event{
		ID: responseID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: attach.KindResponse, Role: role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut || x.ResponseCut || a.Partial, Metadata: meta, CreatedAt: end.UTC(),
	}
	return []attach.Event{promptEv, responseEv}, nil
}

// maxServedModel bounds the served model name kept from an answer: as long
// as a model name an engine's list may hold, so that an engine naming a
// runaway "model" cannot make the answer's metadata too large to store.
const maxServedModel = 200

// promptMeta is what the gateway notes of a prompt: its route, whether its
// answer streams and how many messages the chat held; or that the body did
// not read.
type promptMeta struct {
	Messages *int   `json:"messages,omitempty"`
	Path     string `json:"path"`
	Stream   *bool  `json:"stream,omitempty"`
	Unparsed bool   `json:"unparsed,omitempty"`
}

func (c cleaner) promptMetadata(path string, p *dialect.Prompt) (json.RawMessage, error) {
	m := promptMeta{Path: c.clean(path), Unparsed: p.Unparsed}
	if p.Chat {
		m.Messages = &p.Messages
	}
	if !p.Unparsed {
		m.Stream = &p.Stream
	}
	return gatewayMetadata(&m)
}

// responseMeta is what the gateway notes of an answer. Only the engine's
// own words (finish reason, error) need cleaning; the rest the gateway
// wrote.
type responseMeta struct {
	CompletionTokens *int  `json:"completion_tokens,omitempty"`
	DurationMS       int64 `json:"duration_ms"`
	// Error is true when the engine answered with an error status, or the
	// error it reported mid-stream.
	Error        any    `json:"error,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	PromptID     string `json:"prompt_id"`
	PromptTokens *int   `json:"prompt_tokens,omitempty"`
	// ServedModel is the model the engine says answered, which can differ
	// from the event's Model, the one asked for (an alias, a default the
	// engine chose). Empty when the answer did not say.
	ServedModel string `json:"served_model,omitempty"`
	Status      int    `json:"status"`
	// Unparsed: the body was not JSON, and is kept as text.
	Unparsed bool `json:"unparsed,omitempty"`
	// Stopped: the client left before the end (its "Stop"); the content
	// is what it was sent.
	Stopped bool `json:"stopped,omitempty"`
}

// gatewayMetadata encodes metadata the gateway wrote, of cleaned text.
func gatewayMetadata(v any) (json.RawMessage, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	if err := checkMetadataSize(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// events cleans events made elsewhere (an A2A hand-off's messages) as an
// exchange's are: content redacted and cut, metadata cleaned.
func (c cleaner) events(in []attach.Event, end time.Time) []attach.Event {
	out := make([]attach.Event, 0, len(in))
	for _, e := range in {
		e.Content, e.Truncated = c.text(e.Content)
		e.Role, e.TaskID = c.clean(e.Role), c.clean(e.TaskID)
		if meta, err := c.metadata(e.Metadata); err == nil {
			e.Metadata = meta
		} else {
			e.Metadata = nil
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = end.UTC()
		}
		out = append(out, e)
	}
	return out
}
