package dialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// openaiAnswer is a whole OpenAI answer or one chunk of an OpenAI stream:
// chat, completion or embeddings.
type openaiAnswer struct {
	Model   string `json:"model"`
	Created int64  `json:"created"`
	Choices []struct {
		Message      *openaiOut `json:"message"`
		Delta        *openaiOut `json:"delta"`
		Text         *string    `json:"text"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Data []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// openaiOut is the message of a whole chat answer or the delta of a chunk.
type openaiOut struct {
	Content *string `json:"content"`
	// Reasoning is a thinking model's thought: "reasoning" in Ollama's
	// and others' OpenAI API, "reasoning_content" in vLLM's and DeepSeek's.
	Reasoning        *string `json:"reasoning"`
	ReasoningContent *string `json:"reasoning_content"`
	ToolCalls        []struct {
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// ollamaAnswer is an Ollama answer or stream line, chat or generate.
type ollamaAnswer struct {
	Model      string        `json:"model"`
	CreatedAt  string        `json:"created_at"`
	Message    *ollamaOutMsg `json:"message,omitempty"`
	Response   *string       `json:"response,omitempty"`
	Thinking   string        `json:"thinking,omitempty"` // of generate
	Done       bool          `json:"done"`
	DoneReason string        `json:"done_reason,omitempty"`
	Prompt     *int          `json:"prompt_eval_count,omitempty"`
	Eval       *int          `json:"eval_count,omitempty"`
}

type ollamaOutMsg struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	Thinking  string          `json:"thinking,omitempty"`
	ToolCalls []ollamaOutCall `json:"tool_calls,omitempty"`
}

type ollamaOutCall struct {
	Function ollamaOutFun `json:"function"`
}

type ollamaOutFun struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// errorLine is an Ollama error: its answer to a failed request, and the
// line that ends a stream that failed.
type errorLine struct {
	Error string `json:"error"`
}

// Answer turns an OpenAI engine's whole answer (status and body) into the
// Ollama answer the client expects, with the same status. A failure status
// gives Ollama's {"error": "..."}; a success the engine's body does not
// read as fails, as the engine did not answer as an OpenAI engine does.
// now stamps the answer when the engine gave no time.
func (t *Translation) Answer(status int, body []byte, now time.Time) ([]byte, error) {
	if status >= 400 {
		return ErrorAnswer(status, body), nil
	}
	var a openaiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("the engine's answer is not OpenAI JSON: %w", err)
	}
	if len(a.Error) > 0 && string(a.Error) != "null" {
		return json.Marshal(errorLine{errorText(a.Error)})
	}
	switch t.answer {
	case answerEmbed, answerEmbeddings:
		return t.embedAnswer(&a)
	}
	s := t.newState(now)
	s.keepText = true
	s.add(&a)
	if len(a.Choices) == 0 {
		return nil, fmt.Errorf("the engine's answer holds no choice")
	}
	return json.Marshal(s.final(true))
}

// embedAnswer is /api/embed's {"embeddings": [...]} or /api/embeddings'
// {"embedding": [...]}, the vectors in the order of the inputs. The
// numbers are passed on as the engine wrote them.
func (t *Translation) embedAnswer(a *openaiAnswer) ([]byte, error) {
	if a.Data == nil {
		return nil, fmt.Errorf("the engine's answer holds no embeddings")
	}
	vectors := make([]json.RawMessage, len(a.Data))
	for _, d := range a.Data {
		if d.Index < 0 || d.Index >= len(vectors) || len(d.Embedding) == 0 || d.Embedding[0] != '[' {
			return nil, fmt.Errorf("the engine's embeddings answer is not a list of vectors")
		}
		vectors[d.Index] = d.Embedding
	}
	for _, v := range vectors {
		if v == nil {
			return nil, fmt.Errorf("the engine's embeddings answer lacks a vector")
		}
	}
	model := a.Model
	if model == "" {
		model = t.Model
	}
	if t.answer == answerEmbeddings {
		if len(vectors) == 0 {
			return nil, fmt.Errorf("the engine's embeddings answer holds no vector")
		}
		return json.Marshal(struct {
			Embedding json.RawMessage `json:"embedding"`
		}{vectors[0]})
	}
	out := struct {
		Model      string            `json:"model"`
		Embeddings []json.RawMessage `json:"embeddings"`
		Prompt     *int              `json:"prompt_eval_count,omitempty"`
	}{Model: model, Embeddings: vectors}
	if a.Usage != nil {
		out.Prompt = &a.Usage.PromptTokens
	}
	return json.Marshal(out)
}

// ErrorAnswer is an engine's failure answer in Ollama's shape,
// {"error": "text"}: the text of an OpenAI error object, or of Ollama's own
// error, or the status when the body says nothing readable (a proxy's HTML
// page is not passed on).
func ErrorAnswer(status int, body []byte) []byte {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(bytes.TrimSpace(body), &e) == nil && len(e.Error) > 0 && string(e.Error) != "null" {
		msg = errorText(e.Error)
	}
	if msg == "" {
		msg = fmt.Sprintf("engine answered %d %s", status, http.StatusText(status))
	}
	b, _ := json.Marshal(errorLine{msg})
	return b
}

// answerState gathers an OpenAI answer, whole or chunk by chunk, into
// Ollama's shape.
type answerState struct {
	t            *Translation
	now          time.Time
	model        string
	created      int64
	keepText     bool // gather the text, for a whole answer
	text         bytes.Buffer
	thinking     bytes.Buffer
	finish       string
	prompt, eval *int
	calls        []*toolCall
}

// toolCall is a tool call gathered from its pieces.
type toolCall struct {
	name string
	args bytes.Buffer
}

func (t *Translation) newState(now time.Time) *answerState {
	return &answerState{t: t, now: now, model: t.Model}
}

// piece is what one answer or chunk says: text, and a thinking model's
// thought.
type piece struct{ text, thinking string }

// add reads one answer or chunk, gathering its text for a whole answer,
// and returns what it carried.
func (s *answerState) add(a *openaiAnswer) piece {
	if a.Model != "" {
		s.model = a.Model
	}
	if a.Created > 0 {
		s.created = a.Created
	}
	if a.Usage != nil {
		p, e := a.Usage.PromptTokens, a.Usage.CompletionTokens
		s.prompt, s.eval = &p, &e
	}
	if len(a.Choices) == 0 {
		return piece{}
	}
	c := &a.Choices[0]
	var p piece
	for _, m := range []*openaiOut{c.Message, c.Delta} {
		if m == nil {
			continue
		}
		if m.Content != nil {
			p.text += *m.Content
		}
		for _, r := range []*string{m.Reasoning, m.ReasoningContent} {
			if r != nil {
				p.thinking += *r
			}
		}
		s.addCalls(m)
	}
	if c.Text != nil {
		p.text += *c.Text
	}
	if c.FinishReason != nil && *c.FinishReason != "" {
		s.finish = *c.FinishReason
	}
	if s.keepText {
		s.text.WriteString(p.text)
		s.thinking.WriteString(p.thinking)
	}
	return p
}

// addCalls gathers tool calls: whole in an answer, in pieces by index in
// a stream (the name first, then the arguments a few characters at a time).
func (s *answerState) addCalls(m *openaiOut) {
	for i, tc := range m.ToolCalls {
		idx := tc.Index
		if m.ToolCalls[0].Index == 0 && tc.Index == 0 && i > 0 {
			idx = i // a whole answer need not number its calls
		}
		if idx < 0 || idx > 127 {
			continue
		}
		for len(s.calls) <= idx {
			s.calls = append(s.calls, &toolCall{})
		}
		c := s.calls[idx]
		if tc.Function.Name != "" {
			c.name = tc.Function.Name
		}
		c.args.WriteString(tc.Function.Arguments)
	}
}

// line is a stream line carrying p.
func (s *answerState) line(p piece) ollamaAnswer {
	out := s.base()
	if s.t.answer == answerGenerate {
		out.Response, out.Thinking = &p.text, p.thinking
	} else {
		out.Message = &ollamaOutMsg{Role: "assistant", Content: p.text, Thinking: p.thinking}
	}
	return out
}

func (s *answerState) base() ollamaAnswer {
	at := s.now
	if s.created > 0 {
		at = time.Unix(s.created, 0)
	}
	return ollamaAnswer{Model: s.model, CreatedAt: at.UTC().Format(time.RFC3339Nano)}
}

// final is the answer's last line, marked done, with why it stopped and
// the token counts when the engine gave them; whole, it carries the text.
func (s *answerState) final(whole bool) ollamaAnswer {
	var p piece
	if whole {
		p = piece{s.text.String(), s.thinking.String()}
	}
	out := s.line(p)
	out.Done = true
	out.DoneReason = doneReason(s.finish)
	out.Prompt, out.Eval = s.prompt, s.eval
	if out.Message != nil {
		for _, c := range s.calls {
			if c.name == "" && c.args.Len() == 0 {
				continue
			}
			out.Message.ToolCalls = append(out.Message.ToolCalls, ollamaOutCall{Function: ollamaOutFun{Name: c.name, Arguments: arguments(c.args.Bytes())}})
		}
	}
	return out
}

// doneReason is OpenAI's finish_reason as Ollama's done_reason: Ollama
// says "stop" after tool calls too.
func doneReason(finish string) string {
	switch finish {
	case "", "tool_calls", "function_call":
		return "stop"
	}
	return finish
}

// arguments are a tool call's arguments as Ollama gives them, an object:
// OpenAI's JSON text when it reads, else the text as a string.
func arguments(b []byte) json.RawMessage {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	if json.Valid(b) {
		return append(json.RawMessage(nil), b...)
	}
	s, _ := json.Marshal(string(b))
	return s
}
