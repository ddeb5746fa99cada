package dialect

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Answer is what an engine said, read from a whole answer or gathered from
// a stream.
type Answer struct {
	// Role is that of the first message naming one.
	Role string
	// Model is the model the engine says answered: Ollama's and OpenAI's
	// "model" field, from the first chunk naming one. It can differ from
	// the model asked for (an alias, a default the engine picked).
	Model string
	Text  string
	// Error is an error the engine reported in the body, with a failure
	// status or mid-stream.
	Error        string
	FinishReason string
	// PromptTokens and CompletionTokens are what the engine counted, nil
	// when it did not say.
	PromptTokens, CompletionTokens *int
	// Unreadable: the body was neither JSON nor a stream of it.
	Unreadable bool
	// Partial: the stream stopped in the middle of a chunk.
	Partial bool
}

// chunk is a whole answer or one piece of a stream, in either dialect:
// each dialect fills its own fields.
type chunk struct {
	// Either: the model that answered. Raw, so that a chunk naming it
	// other than as a string still gives its text.
	Model json.RawMessage `json:"model"`
	// Ollama: a chat message or generated text, and at the end why it
	// stopped and what it counted.
	Message         *message `json:"message"`
	Response        *string  `json:"response"`
	DoneReason      string   `json:"done_reason"`
	PromptEvalCount *int     `json:"prompt_eval_count"`
	EvalCount       *int     `json:"eval_count"`
	// OpenAI: choices, of which the first counts, and usage.
	Choices []choice `json:"choices"`
	Usage   *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	// Either: Ollama's "text", OpenAI's {"message":"text",...}.
	Error json.RawMessage `json:"error"`
}

type choice struct {
	Delta        *message `json:"delta"`   // of a streamed chat
	Message      *message `json:"message"` // of a whole chat
	Text         *string  `json:"text"`    // of a completion
	FinishReason *string  `json:"finish_reason"`
}

// ReadAnswer reads an answer body: an OpenAI SSE stream, an Ollama NDJSON
// stream, or one JSON document (a stream of one).
func ReadAnswer(body []byte) Answer {
	var r answerReader
	body = bytes.TrimLeft(body, " \t\r\n")
	if isSSE(body) {
		r.readSSE(body)
	} else {
		r.readJSONStream(body)
	}
	r.a.Text = r.text.String()
	return r.a
}

// answerReader gathers an answer chunk by chunk.
type answerReader struct {
	a    Answer
	text strings.Builder
}

func isSSE(body []byte) bool {
	for _, p := range []string{"data:", "event:", "id:", "retry:", ":"} {
		if bytes.HasPrefix(body, []byte(p)) {
			return true
		}
	}
	return false
}

// readJSONStream reads JSON values one after another until the body ends
// or a value does not read.
func (r *answerReader) readJSONStream(body []byte) {
	d := json.NewDecoder(bytes.NewReader(body))
	chunks := 0
	for ; d.More(); chunks++ {
		var c chunk
		if err := d.Decode(&c); err != nil {
			if chunks == 0 {
				r.a.Unreadable = true
			} else {
				r.a.Partial = true
			}
			return
		}
		r.add(&c)
	}
	if chunks == 0 && len(body) > 0 {
		r.a.Unreadable = true
	}
}

// readSSE follows the event-stream format: "data:" lines gather until a
// blank line ends the event; OpenAI ends the stream with "data: [DONE]".
func (r *answerReader) readSSE(body []byte) {
	var data []byte // the event's data lines, joined
	// dispatch reads the event gathered, and tells whether the stream goes on.
	dispatch := func() bool {
		if len(data) == 0 {
			return true
		}
		payload := data
		data = data[:0]
		if string(payload) == "[DONE]" {
			return false
		}
		var c chunk
		if err := json.Unmarshal(payload, &c); err != nil {
			r.a.Partial = true
			return true
		}
		r.add(&c)
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
		if len(data) > 0 {
			data = append(data, '\n')
		}
		data = append(data, value...)
	}
	dispatch()
}

func (r *answerReader) add(c *chunk) {
	if r.a.Model == "" && len(c.Model) > 0 {
		var m string
		if json.Unmarshal(c.Model, &m) == nil {
			r.a.Model = m
		}
	}
	r.addMessage(c.Message)
	if c.Response != nil {
		r.text.WriteString(*c.Response)
	}
	if len(c.Choices) > 0 {
		ch := &c.Choices[0]
		r.addMessage(ch.Delta)
		r.addMessage(ch.Message)
		if ch.Text != nil {
			r.text.WriteString(*ch.Text)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			r.a.FinishReason = *ch.FinishReason
		}
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		r.a.Error = errorText(c.Error)
	}
	if c.DoneReason != "" {
		r.a.FinishReason = c.DoneReason
	}
	if c.PromptEvalCount != nil {
		r.a.PromptTokens = c.PromptEvalCount
	}
	if c.EvalCount != nil {
		r.a.CompletionTokens = c.EvalCount
	}
	if c.Usage != nil {
		r.a.PromptTokens, r.a.CompletionTokens = &c.Usage.PromptTokens, &c.Usage.CompletionTokens
	}
}

func (r *answerReader) addMessage(m *message) {
	if m == nil {
		return
	}
	if r.a.Role == "" {
		r.a.Role = m.Role
	}
	r.text.WriteString(string(m.Content))
}

// errorText reads an error in either dialect: Ollama's "text" or OpenAI's
// {"message":"text",...}. Anything else is kept as the JSON it came as.
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
