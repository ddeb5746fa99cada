package dialect

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Counts is what an answer cost in tokens: what the engine reported, and
// the length of the text it generated, from which the cost is estimated
// when it reported nothing.
type Counts struct {
	Prompt, Completion int
	// Reported: the engine said how many tokens it counted (Ollama's
	// prompt_eval_count / eval_count, OpenAI's usage).
	Reported bool
	// TextRunes is the length of the generated text, in characters; a
	// whole answer that reports its counts leaves it 0 (it serves only
	// an estimate).
	TextRunes int
}

// Metered tells a route whose exchanges cost tokens: chats, completions
// and embeddings.
func (r *Route) Metered() bool {
	switch r.Path {
	case "/api/embed", "/api/embeddings", "/v1/embeddings":
		return true
	}
	return r.Generates()
}

// RunesPerToken is the estimate used when an engine reports no counts:
// about four characters of English text per token, the rule of thumb of
// BPE tokenizers. It is an estimate, and rows made with it say so.
const RunesPerToken = 4

// EstimateTokens is the estimated number of tokens in a text of n
// characters: n / RunesPerToken, rounded up.
func EstimateTokens(n int) int {
	return (n + RunesPerToken - 1) / RunesPerToken
}

// usageRequest is what a metered request holds of text: a chat's messages,
// a completion's prompt (and system text), an embedding's input.
type usageRequest struct {
	Messages []message `json:"messages"`
	Prompt   *text     `json:"prompt"`
	System   *text     `json:"system"`
	Input    *text     `json:"input"`
}

// PromptRunes is the number of characters of text a chat, completion or
// embedding request sends the engine: every message, not only the last,
// since the engine reads them all. 0 for a body that does not read.
func PromptRunes(body []byte) int {
	var req usageRequest
	if json.Unmarshal(body, &req) != nil {
		return 0
	}
	n := 0
	for _, m := range req.Messages {
		n += utf8.RuneCountInString(string(m.Content))
	}
	for _, t := range []*text{req.Prompt, req.System, req.Input} {
		if t != nil {
			n += utf8.RuneCountInString(string(*t))
		}
	}
	return n
}

// CountAnswer reads the counts of a whole answer (one JSON document, or a
// stream held whole).
func CountAnswer(body []byte) Counts {
	// Nearly every answer reports its counts, at its end: read just those
	// first, and the whole answer (for an estimate from its text) only
	// when they are absent.
	if c := TailCounts(body); c.Reported {
		return c
	}
	a := ReadAnswer(body)
	c := Counts{TextRunes: utf8.RuneCountInString(a.Text)}
	if a.PromptTokens != nil || a.CompletionTokens != nil {
		c.Prompt, c.Completion = deref(a.PromptTokens), deref(a.CompletionTokens)
		c.Reported = c.Prompt != 0 || c.Completion != 0
	}
	return c
}

// TailCounts finds the counts of an answer without decoding it, in the
// whole answer or in its end only (an answer too large to hold whole, such
// as a large batch of embeddings; both dialects put their counts last):
// the last "prompt_eval_count" and "eval_count" (Ollama), else the numbers
// in the last "usage" object (OpenAI). A quoted name cannot occur inside a
// JSON string (its quotes would be escaped), so what it finds are fields.
func TailCounts(body []byte) Counts {
	var c Counts
	prompt, okP := intField(body, "prompt_eval_count")
	eval, okE := intField(body, "eval_count")
	if okP || okE {
		c.Prompt, c.Completion = prompt, eval
	} else if i := bytes.LastIndex(body, []byte(`"usage"`)); i >= 0 {
		u := body[i:]
		c.Prompt, _ = intField(u, "prompt_tokens")
		c.Completion, _ = intField(u, "completion_tokens")
	}
	c.Reported = c.Prompt != 0 || c.Completion != 0
	return c
}

// intField reads the whole number after the last field name in b.
func intField(b []byte, name string) (int, bool) {
	i := bytes.LastIndex(b, []byte(`"`+name+`"`))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(b[i+len(name)+2:], " \t\r\n")
	rest, ok := bytes.CutPrefix(rest, []byte(":"))
	if !ok {
		return 0, false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	end := 0
	for end < len(rest) && end < 12 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:end]))
	return n, err == nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// usageChunk is what the tally reads of one streamed chunk, in either
// dialect: the text it adds, the counts it reports, and whether it is
// OpenAI's usage-only chunk (no choices, a usage object). Texts stay raw
// JSON: the tally only needs their length, and decoding them would cost
// every chunk of every stream a second pass.
type usageChunk struct {
	Message         *rawContent     `json:"message"`
	Response        json.RawMessage `json:"response"`
	PromptEvalCount *int            `json:"prompt_eval_count"`
	EvalCount       *int            `json:"eval_count"`
	Choices         []struct {
		Delta   *rawContent     `json:"delta"`
		Message *rawContent     `json:"message"`
		Text    json.RawMessage `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

type rawContent struct {
	Content json.RawMessage `json:"content"`
}

// rawRunes is the length of a JSON text as written, without its quotes:
// an escape counts as its characters, close enough for an estimate.
func rawRunes(raw json.RawMessage) int {
	if len(raw) < 2 || raw[0] != '"' {
		return 0 // null, or parts (a multimodal answer): not counted
	}
	return utf8.RuneCount(raw) - 2
}

// ChunkCounts reads one JSON chunk of a stream: the counts it reports
// (Reported false when none, or only zeros: OpenAI-compatible engines put
// an empty usage object on every chunk before the last), the length of the
// text it adds, and whether it is a usage-only chunk, the one
// stream_options.include_usage adds at the end of an OpenAI stream. ok is
// false when payload is not a JSON object.
func ChunkCounts(payload []byte) (c Counts, usageOnly, ok bool) {
	var ch usageChunk
	if json.Unmarshal(payload, &ch) != nil {
		return Counts{}, false, false
	}
	if ch.Message != nil {
		c.TextRunes += rawRunes(ch.Message.Content)
	}
	c.TextRunes += rawRunes(ch.Response)
	if len(ch.Choices) > 0 {
		first := &ch.Choices[0]
		for _, m := range []*rawContent{first.Delta, first.Message} {
			if m != nil {
				c.TextRunes += rawRunes(m.Content)
			}
		}
		c.TextRunes += rawRunes(first.Text)
	}
	if ch.PromptEvalCount != nil || ch.EvalCount != nil {
		c.Prompt, c.Completion = deref(ch.PromptEvalCount), deref(ch.EvalCount)
	}
	if ch.Usage != nil {
		c.Prompt, c.Completion = ch.Usage.PromptTokens, ch.Usage.CompletionTokens
	}
	c.Reported = c.Prompt != 0 || c.Completion != 0
	// The choices key must be there and empty: a chunk that names no
	// choices at all is not the usage chunk of an OpenAI stream.
	usageOnly = ch.Usage != nil && ch.Choices != nil && len(ch.Choices) == 0
	return c, usageOnly, true
}

// maxHeld bounds the part of a stream a Tally holds while it waits for
// the end of a line or event: far more than any chunk of text or usage.
// A longer line is passed on (or skipped) unread.
const maxHeld = 1 << 20

// Tally follows a streamed answer (Ollama NDJSON or OpenAI SSE) part by
// part and adds up its counts, holding no more than the line or event in
// progress. With Strip set (SSE only) it also drops the usage-only chunk
// from what goes on to the client: the gateway asked for it, the client
// did not. Everything else goes on byte for byte.
type Tally struct {
	sse, strip bool
	held       []byte // the line (NDJSON) or event (SSE) in progress
	skipping   bool   // a line over maxHeld is being passed over
	out        []byte // what goes on, when stripping
	counts     Counts
}

// NewTally follows a stream framed as server-sent events when sse, else
// as NDJSON. strip (SSE only) drops the usage-only chunk.
func NewTally(sse, strip bool) *Tally {
	return &Tally{sse: sse, strip: strip && sse}
}

// Counts is what the stream reported so far: the last counts it named,
// and all the text it carried.
func (t *Tally) Counts() Counts { return t.counts }

// Pass reads the next part of the stream and returns what of it goes on
// to the client: p itself unless the tally strips, else the events it
// completes, but the usage-only one. The result is valid until the next
// call.
func (t *Tally) Pass(p []byte) []byte {
	orig := p
	t.out = t.out[:0]
	for len(p) > 0 {
		if t.skipping {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				t.emit(p)
				break
			}
			t.emit(p[:i+1])
			p = p[i+1:]
			t.skipping = false
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.hold(p)
			break
		}
		t.held = append(t.held, p[:i+1]...)
		p = p[i+1:]
		t.line()
	}
	if !t.strip {
		return orig
	}
	return t.out
}

// hold keeps the start of a line, up to maxHeld; past it the line is
// passed on (or dropped from counting) unread.
func (t *Tally) hold(p []byte) {
	if len(t.held)+len(p) <= maxHeld {
		t.held = append(t.held, p...)
		return
	}
	t.emit(t.held)
	t.emit(p)
	t.held = t.held[:0]
	t.skipping = true
}

func (t *Tally) emit(b []byte) {
	if t.strip {
		t.out = append(t.out, b...)
	}
}

// line handles the complete line at the end of held.
func (t *Tally) line() {
	if !t.sse {
		t.add(bytes.TrimSpace(t.held))
		t.held = t.held[:0]
		return
	}
	// SSE: the event ends at a blank line.
	start := bytes.LastIndexByte(t.held[:len(t.held)-1], '\n') + 1
	last := bytes.TrimRight(t.held[start:], "\r\n")
	if len(last) > 0 {
		return // an event line; the event goes on
	}
	t.event()
}

// event reads the complete event in held and passes it on unless it is
// the usage-only chunk to strip.
func (t *Tally) event() {
	ev := t.held
	t.held = t.held[:0]
	var data []byte
	rest := ev
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
		}
	}
	if usageOnly := t.add(data); usageOnly && t.strip {
		return
	}
	t.emit(ev)
}

// add reads one chunk's JSON; it tells whether it is the usage-only chunk.
func (t *Tally) add(payload []byte) bool {
	if len(payload) == 0 || payload[0] != '{' {
		return false // [DONE], comments, keep-alives
	}
	c, usageOnly, ok := ChunkCounts(payload)
	if !ok {
		return false
	}
	t.counts.TextRunes += c.TextRunes
	if c.Reported {
		t.counts.Prompt, t.counts.Completion, t.counts.Reported = c.Prompt, c.Completion, true
	}
	return usageOnly
}

// End reads what is left of the stream once it ended: a last line or
// event without its end. It returns what of it goes on to the client
// (nothing when the tally does not strip, as Pass passed it on already).
func (t *Tally) End() []byte {
	t.out = t.out[:0]
	if len(t.held) > 0 && !t.skipping {
		if t.sse {
			t.event()
		} else {
			t.add(bytes.TrimSpace(t.held))
		}
	}
	t.held = t.held[:0]
	if !t.strip {
		return nil
	}
	return t.out
}

// includeUsage is what the gateway adds to an OpenAI streaming request so
// the engine ends its stream with the counts.
const includeUsage = `"stream_options":{"include_usage":true}`

// WithStreamUsage returns an OpenAI chat or completion request body that
// asks the engine to end its stream with a usage chunk
// (stream_options.include_usage), and whether it changed the body: not
// when the request does not stream, when it asks already, or when it does
// not read (the engine answers that). A body without stream_options gains
// the field at its start and is otherwise left as it came.
func WithStreamUsage(body []byte) ([]byte, bool) {
	var req struct {
		Stream        *bool           `json:"stream"`
		StreamOptions json.RawMessage `json:"stream_options"`
	}
	if json.Unmarshal(body, &req) != nil || req.Stream == nil || !*req.Stream {
		return body, false
	}
	if len(req.StreamOptions) == 0 || string(req.StreamOptions) == "null" {
		i := bytes.IndexByte(body, '{')
		if i < 0 {
			return body, false
		}
		out := make([]byte, 0, len(body)+len(includeUsage)+1)
		out = append(out, body[:i+1]...)
		out = append(out, includeUsage...)
		out = append(out, ',') // the body streams, so it has a field after
		return append(out, body[i+1:]...), true
	}
	var opts map[string]json.RawMessage
	if json.Unmarshal(req.StreamOptions, &opts) != nil || opts == nil {
		return body, false
	}
	var asked bool
	if raw, ok := opts["include_usage"]; ok && json.Unmarshal(raw, &asked) == nil && asked {
		return body, false
	}
	opts["include_usage"] = json.RawMessage("true")
	var whole map[string]json.RawMessage
	if json.Unmarshal(body, &whole) != nil {
		return body, false
	}
	var err error
	if whole["stream_options"], err = json.Marshal(opts); err != nil {
		return body, false
	}
	out, err := json.Marshal(whole)
	if err != nil {
		return body, false
	}
	return out, true
}

// TailSize is how much of the end of an answer too large to hold whole
// is kept for TailCounts: both dialects put their counts last (Ollama's
// prompt_eval_count and eval_count, OpenAI's usage), after the embeddings
// or text that make the answer large.
const TailSize = 16 << 10
