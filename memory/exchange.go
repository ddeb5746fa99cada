package memory

import (
	"strings"
	"time"
)

// Exchange is one finished call to an engine, as the proxy saw it. Its
// fields are those of the proxy's own exchange type, in the same order, so
// the proxy's value converts with a plain memory.Exchange(x).
type Exchange struct {
	TeamID, User, Session string
	Engine, Model, Path   string
	Status                int
	// Request is the request JSON as sent to the engine.
	Request []byte
	// Response is the answer as received: one JSON document, an Ollama
	// NDJSON stream or an OpenAI SSE stream. ResponseCut says the proxy
	// stopped keeping it at its size limit.
	Response    []byte
	ResponseCut bool
	Start       time.Time
}

// exchangeEvents turns an exchange that ended at end into its prompt and
// response events, cleaned and with ids.
func (c cleaner) exchangeEvents(x Exchange, end time.Time) ([]Event, error) {
	p := parsePrompt(x.Path, x.Request)
	model := x.Model
	if model == "" {
		model = p.model
	}
	start := x.Start
	if start.IsZero() {
		start = end
	}
	promptID, err := newID()
	if err != nil {
		return nil, err
	}
	content, cut := c.text(p.content)
	meta, err := c.metadataOf(p.meta)
	if err != nil {
		return nil, err
	}
	promptEv := Event{
		ID: promptID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: KindPrompt, Role: p.role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut, Metadata: meta, CreatedAt: start.UTC(),
	}

	a := parseAnswer(x.Response)
	rmeta := a.meta
	rmeta["prompt_id"] = promptID
	rmeta["status"] = x.Status
	rmeta["duration_ms"] = end.Sub(start).Milliseconds()
	role, text := a.role, a.content.String()
	if role == "" {
		role = "assistant"
	}
	switch {
	case x.Status >= 400:
		// The error text is what there is to remember of a failed call.
		role = ""
		text = a.errText
		if text == "" {
			text = strings.TrimSpace(string(x.Response))
		}
		rmeta["error"] = true
	case a.errText != "":
		// Ollama reports a failure mid-stream as a final {"error": ...}.
		rmeta["error"] = a.errText
	case a.unreadable:
		text = string(x.Response)
		rmeta["unparsed"] = true
	}
	responseID, err := newID()
	if err != nil {
		return nil, err
	}
	content, cut = c.text(text)
	meta, err = c.metadataOf(rmeta)
	if err != nil {
		return nil, err
	}
	responseEv := Event{
		ID: responseID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: KindResponse, Role: role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut || x.ResponseCut || a.partial, Metadata: meta, CreatedAt: end.UTC(),
	}
	return []Event{promptEv, responseEv}, nil
}
