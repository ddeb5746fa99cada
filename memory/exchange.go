package memory

import (
	"encoding/json"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// exchangeEvents turns an exchange that ended at end into its prompt and
// response events, cleaned and with ids.
func (c cleaner) exchangeEvents(x attach.Exchange, end time.Time) ([]attach.Event, error) {
	p := parsePrompt(x.Path, x.Request)
	model := x.Model
	if model == "" {
		model = unquote(p.model)
	}
	start := x.Start
	if start.IsZero() {
		start = end
	}
	promptID, err := attach.NewID()
	if err != nil {
		return nil, err
	}
	content, cut := c.text(p.content)
	meta, err := c.promptMetadata(x.Path, &p)
	if err != nil {
		return nil, err
	}
	promptEv := attach.Event{
		ID: promptID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: attach.KindPrompt, Role: p.role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut, Metadata: meta, CreatedAt: start.UTC(),
	}

	a := parseAnswer(x.Response)
	rm := responseMeta{
		promptID: promptID, status: x.Status, durationMS: end.Sub(start).Milliseconds(),
		finishReason: a.finishReason, promptTokens: a.promptTokens, completionTokens: a.completionTokens,
	}
	role := a.role
	if role == "" {
		role = "assistant"
	}
	var text string
	switch {
	case x.Status >= 400:
		// The error text is what there is to remember of a failed call.
		role = ""
		text = a.errText
		if text == "" {
			text = strings.TrimSpace(string(x.Response))
		}
		rm.failed = true
	case a.errText != "":
		// Ollama reports a failure mid-stream as a final {"error": ...}.
		text = string(a.content)
		rm.streamError = a.errText
	case a.unreadable:
		text = string(x.Response)
		rm.unparsed = true
	default:
		text = string(a.content)
	}
	responseID, err := attach.NewID()
	if err != nil {
		return nil, err
	}
	content, cut = c.text(text)
	meta, err = c.responseMetadata(&rm)
	if err != nil {
		return nil, err
	}
	responseEv := attach.Event{
		ID: responseID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: attach.KindResponse, Role: role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut || x.ResponseCut || a.partial, Metadata: meta, CreatedAt: end.UTC(),
	}
	return []attach.Event{promptEv, responseEv}, nil
}

// promptMetadata notes the route of a prompt, whether its answer streams
// and how many messages the chat held; or that the body was not JSON.
func (c cleaner) promptMetadata(path string, p *prompt) (json.RawMessage, error) {
	var o metaObject
	if p.chat {
		o.int("messages", int64(p.messages))
	}
	o.string("path", c.clean(path))
	if p.unparsed {
		o.bool("unparsed", true)
	} else {
		o.bool("stream", p.stream)
	}
	return o.done()
}

// responseMeta is what the gateway notes of an answer.
type responseMeta struct {
	promptID   string
	status     int
	durationMS int64
	// finishReason is the engine's, "" when it gave none.
	finishReason                   string
	promptTokens, completionTokens count
	// failed: the engine answered with an error status.
	failed bool
	// streamError is an error the engine reported mid-stream.
	streamError string
	// unparsed: the body was not JSON, and is kept as text.
	unparsed bool
}

// responseMetadata writes rm with its keys sorted. Only the engine's own
// words (finish reason, error) are cleaned; the rest the gateway wrote.
func (c cleaner) responseMetadata(rm *responseMeta) (json.RawMessage, error) {
	var o metaObject
	if rm.completionTokens.ok {
		o.int("completion_tokens", int64(rm.completionTokens.n))
	}
	o.int("duration_ms", rm.durationMS)
	switch {
	case rm.failed:
		o.bool("error", true)
	case rm.streamError != "":
		o.string("error", c.clean(rm.streamError))
	}
	if rm.finishReason != "" {
		o.string("finish_reason", c.clean(rm.finishReason))
	}
	o.string("prompt_id", rm.promptID)
	if rm.promptTokens.ok {
		o.int("prompt_tokens", int64(rm.promptTokens.n))
	}
	o.int("status", int64(rm.status))
	if rm.unparsed {
		o.bool("unparsed", true)
	}
	return o.done()
}
