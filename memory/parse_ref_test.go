package memory

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// This file keeps the recorder's first reading of exchanges, which decoded
// bodies into structs with encoding/json and built metadata as maps. The
// tests hold the in-place reading to it: for any exchange, both must give
// the same events.

type refPrompt struct {
	role, content, model string
	meta                 map[string]any
}

type refMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type refRequest struct {
	Model    string          `json:"model"`
	Messages []refMessage    `json:"messages"`
	Prompt   json.RawMessage `json:"prompt"`
	Stream   *bool           `json:"stream"`
}

func refParsePrompt(path string, body []byte) refPrompt {
	var req refRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return refPrompt{content: string(body), meta: map[string]any{"path": path, "unparsed": true}}
	}
	stream := ollamaRoute(path)
	if req.Stream != nil {
		stream = *req.Stream
	}
	p := refPrompt{model: req.Model, meta: map[string]any{"path": path, "stream": stream}}
	switch {
	case chatRoute(path) || (len(req.Messages) > 0 && len(req.Prompt) == 0):
		p.meta["messages"] = len(req.Messages)
		if n := len(req.Messages); n > 0 {
			last := req.Messages[n-1]
			p.role, p.content = last.Role, refTextOf(last.Content)
		}
	default:
		p.role, p.content = "user", refTextOf(req.Prompt)
	}
	return p
}

func refTextOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '[':
		var parts []json.RawMessage
		if json.Unmarshal(raw, &parts) != nil {
			return ""
		}
		var texts []string
		for _, part := range parts {
			part = bytes.TrimSpace(part)
			if len(part) == 0 {
				continue
			}
			switch part[0] {
			case '"':
				var s string
				if json.Unmarshal(part, &s) == nil {
					texts = append(texts, s)
				}
			case '{':
				var p struct {
					Type string `json:"type"`
					Text string `json:"text"`
				}
				if json.Unmarshal(part, &p) == nil && p.Text != "" && (p.Type == "" || p.Type == "text" || p.Type == "input_text") {
					texts = append(texts, p.Text)
				}
			}
		}
		return strings.Join(texts, "\n")
	}
	return ""
}

type refAnswer struct {
	role       string
	content    strings.Builder
	errText    string
	meta       map[string]any
	unreadable bool
	partial    bool
}

type refChunk struct {
	Message  *refMessage `json:"message"`
	Response *string     `json:"response"`
	Choices  []struct {
		Delta        *refMessage `json:"delta"`
		Message      *refMessage `json:"message"`
		Text         *string     `json:"text"`
		FinishReason *string     `json:"finish_reason"`
	} `json:"choices"`
	Error           json.RawMessage `json:"error"`
	DoneReason      string          `json:"done_reason"`
	PromptEvalCount *int            `json:"prompt_eval_count"`
	EvalCount       *int            `json:"eval_count"`
	Usage           *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func refParseAnswer(body []byte) *refAnswer {
	a := &refAnswer{meta: map[string]any{}}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if looksLikeSSE(trimmed) {
		a.readSSE(trimmed)
	} else {
		a.readJSONStream(trimmed)
	}
	return a
}

func (a *refAnswer) readJSONStream(body []byte) {
	d := json.NewDecoder(bytes.NewReader(body))
	chunks := 0
	for d.More() {
		var c refChunk
		if err := d.Decode(&c); err != nil {
			if chunks == 0 {
				a.unreadable = true
			} else {
				a.partial = true
			}
			return
		}
		chunks++
		a.add(&c)
	}
	if chunks == 0 && len(body) > 0 {
		a.unreadable = true
	}
}

func (a *refAnswer) readSSE(body []byte) {
	var data []byte
	dispatch := func() bool {
		if data == nil {
			return true
		}
		payload := data
		data = nil
		if string(payload) == "[DONE]" {
			return false
		}
		var c refChunk
		if err := json.Unmarshal(payload, &c); err != nil {
			a.partial = true
			return true
		}
		a.add(&c)
		return true
	}
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			if !dispatch() {
				return
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if data != nil {
			data = append(data, '\n')
		}
		data = append(data, value...)
	}
	dispatch()
}

func (a *refAnswer) add(c *refChunk) {
	if c.Message != nil {
		a.takeRole(c.Message.Role)
		a.content.WriteString(refTextOf(c.Message.Content))
	}
	if c.Response != nil {
		a.content.WriteString(*c.Response)
	}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		if ch.Delta != nil {
			a.takeRole(ch.Delta.Role)
			a.content.WriteString(refTextOf(ch.Delta.Content))
		}
		if ch.Message != nil {
			a.takeRole(ch.Message.Role)
			a.content.WriteString(refTextOf(ch.Message.Content))
		}
		if ch.Text != nil {
			a.content.WriteString(*ch.Text)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.meta["finish_reason"] = *ch.FinishReason
		}
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		a.errText = refErrorText(c.Error)
	}
	if c.DoneReason != "" {
		a.meta["finish_reason"] = c.DoneReason
	}
	if c.PromptEvalCount != nil {
		a.meta["prompt_tokens"] = *c.PromptEvalCount
	}
	if c.EvalCount != nil {
		a.meta["completion_tokens"] = *c.EvalCount
	}
	if c.Usage != nil {
		a.meta["prompt_tokens"] = c.Usage.PromptTokens
		a.meta["completion_tokens"] = c.Usage.CompletionTokens
	}
}

func (a *refAnswer) takeRole(role string) {
	if role != "" && a.role == "" {
		a.role = role
	}
}

func refErrorText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	return string(raw)
}

// refMetadataOf encodes a map the gateway built, cleaning every key and
// string in it as client metadata is cleaned.
func (c cleaner) refMetadataOf(m map[string]any) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return c.encodeMetadata(c.cleanValue(m))
}

// refExchangeEvents is exchangeEvents as it was, with the ids given so that
// its events compare with the new ones.
func (c cleaner) refExchangeEvents(x attach.Exchange, end time.Time, promptID, responseID string) ([]attach.Event, error) {
	p := refParsePrompt(x.Path, x.Request)
	model := x.Model
	if model == "" {
		model = p.model
	}
	start := x.Start
	if start.IsZero() {
		start = end
	}
	content, cut := c.text(p.content)
	meta, err := c.refMetadataOf(p.meta)
	if err != nil {
		return nil, err
	}
	promptEv := attach.Event{
		ID: promptID, TeamID: x.TeamID, User: x.User, Session: x.Session,
		Kind: attach.KindPrompt, Role: p.role, Model: model, Engine: x.Engine,
		Content: content, Truncated: cut, Metadata: meta, CreatedAt: start.UTC(),
	}

	a := refParseAnswer(x.Response)
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
		role = ""
		text = a.errText
		if text == "" {
			text = strings.TrimSpace(string(x.Response))
		}
		rmeta["error"] = true
	case a.errText != "":
		rmeta["error"] = a.errText
	case a.unreadable:
		text = string(x.Response)
		rmeta["unparsed"] = true
	}
	content, cut = c.text(text)
	meta, err = c.refMetadataOf(rmeta)
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
