package memory

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Engine routes whose exchanges are recorded. Both dialects send chat as a
// list of messages and completion as one prompt.
func chatRoute(path string) bool {
	return strings.HasSuffix(path, "/api/chat") || strings.HasSuffix(path, "/chat/completions")
}

// ollamaRoute tells the Ollama dialect, which streams unless told not to;
// the OpenAI dialect streams only when asked.
func ollamaRoute(path string) bool { return strings.Contains(path, "/api/") }

// prompt is what the caller asked, read from the request body.
type prompt struct {
	role, content, model string
	meta                 map[string]any
}

type engineMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type engineRequest struct {
	Model    string          `json:"model"`
	Messages []engineMessage `json:"messages"`
	Prompt   json.RawMessage `json:"prompt"`
	Stream   *bool           `json:"stream"`
}

// parsePrompt reads the new turn of a request: for chat the last message
// (the history before it was recorded when it was new), for completion the
// prompt.
func parsePrompt(path string, body []byte) prompt {
	var req engineRequest
	if err := json.Unmarshal(body, &req); err != nil {
		// The proxy only forwards JSON, so this is an engine route that
		// takes something else; keep the text as it came.
		return prompt{content: string(body), meta: map[string]any{"path": path, "unparsed": true}}
	}
	stream := ollamaRoute(path)
	if req.Stream != nil {
		stream = *req.Stream
	}
	p := prompt{model: req.Model, meta: map[string]any{"path": path, "stream": stream}}
	switch {
	case chatRoute(path) || (len(req.Messages) > 0 && len(req.Prompt) == 0):
		p.meta["messages"] = len(req.Messages)
		if n := len(req.Messages); n > 0 {
			last := req.Messages[n-1]
			p.role, p.content = last.Role, textOf(last.Content)
		}
	default:
		p.role, p.content = "user", textOf(req.Prompt)
	}
	return p
}

// textOf reads the text of a message content or a prompt: a string, a list
// of strings (OpenAI completion prompts), or a list of parts of which the
// text ones count (OpenAI multimodal messages). Anything else has no text.
func textOf(raw json.RawMessage) string {
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

// answer is what the engine said, assembled from a whole body or a stream.
type answer struct {
	role    string
	content strings.Builder
	errText string
	meta    map[string]any
	// unreadable: the body was neither JSON nor a stream of it.
	unreadable bool
	// partial: the stream stopped in the middle of a chunk.
	partial bool
}

// answerChunk is the union of the answer shapes of both dialects: an Ollama
// chat or generate answer (whole or one NDJSON line), an OpenAI answer or
// one SSE event, and either dialect's error.
type answerChunk struct {
	Message  *engineMessage `json:"message"`
	Response *string        `json:"response"`
	Choices  []struct {
		Delta        *engineMessage `json:"delta"`
		Message      *engineMessage `json:"message"`
		Text         *string        `json:"text"`
		FinishReason *string        `json:"finish_reason"`
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

// parseAnswer reads a response body: an OpenAI SSE stream, an Ollama NDJSON
// stream, or one JSON document (which is a stream of one).
func parseAnswer(body []byte) *answer {
	a := &answer{meta: map[string]any{}}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if looksLikeSSE(trimmed) {
		a.readSSE(trimmed)
	} else {
		a.readJSONStream(trimmed)
	}
	return a
}

func looksLikeSSE(b []byte) bool {
	for _, p := range []string{"data:", "event:", "id:", "retry:", ":"} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

func (a *answer) readJSONStream(body []byte) {
	d := json.NewDecoder(bytes.NewReader(body))
	chunks := 0
	for d.More() {
		var c answerChunk
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

// readSSE follows the event-stream format: "data:" lines gather until a
// blank line ends the event; OpenAI ends the stream with "data: [DONE]".
func (a *answer) readSSE(body []byte) {
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
		var c answerChunk
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
			continue // event names, ids, retry hints and comments carry no text
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if data != nil {
			data = append(data, '\n')
		}
		data = append(data, value...)
	}
	dispatch()
}

func (a *answer) add(c *answerChunk) {
	if c.Message != nil {
		a.takeRole(c.Message.Role)
		a.content.WriteString(textOf(c.Message.Content))
	}
	if c.Response != nil {
		a.content.WriteString(*c.Response)
	}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		if ch.Delta != nil {
			a.takeRole(ch.Delta.Role)
			a.content.WriteString(textOf(ch.Delta.Content))
		}
		if ch.Message != nil {
			a.takeRole(ch.Message.Role)
			a.content.WriteString(textOf(ch.Message.Content))
		}
		if ch.Text != nil {
			a.content.WriteString(*ch.Text)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.meta["finish_reason"] = *ch.FinishReason
		}
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		a.errText = errorText(c.Error)
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

func (a *answer) takeRole(role string) {
	if role != "" && a.role == "" {
		a.role = role
	}
}

// errorText reads an error in either dialect: Ollama's {"error":"text"} or
// OpenAI's {"error":{"message":"text",...}}.
func errorText(raw json.RawMessage) string {
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
