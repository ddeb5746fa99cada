package memory

import (
	"bytes"
	"strings"
)

// Bodies are read in place (see jsoncheck.go and jsonwalk.go), field by
// field as encoding/json would decode them into the structs noted on each
// type below: the same fields, matched by name the same way, with the same
// answer for a value of the wrong kind (the whole document is unreadable)
// and for null (a pointer is cleared, anything else left be).

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
	role, content string
	// model is the request's model, a JSON string: read only when the
	// proxy did not already name the model.
	model []byte
	// unparsed: the body was not JSON, and content is the body as it came.
	unparsed bool
	stream   bool
	// chat tells a list of messages, of which there were messages.
	chat     bool
	messages int
}

// message is read as a struct{Role string; Content json.RawMessage}. set
// tells whether a pointer to one would be non-nil.
type message struct {
	set     bool
	role    []byte // a JSON string, nil when absent
	content []byte // the raw value, nil when absent
}

// read reads the value at hand into m, as into a struct, or as into a
// pointer to one (ptr), which null clears. An object's members go into
// what m holds, so a repeated key merges as with encoding/json.
func (m *message) read(w *jsonWalker, ptr bool) error {
	null, err := w.nullOr('{')
	if null && ptr {
		*m = message{}
	}
	if null || err != nil {
		return err
	}
	m.set = true
	for key := range w.members() {
		switch {
		case key.is("role"):
			if err := readString(w, &m.role); err != nil {
				return err
			}
		case key.is("content"):
			m.content = w.raw()
		}
	}
	return nil
}

// request is read as struct{Model string; Messages []message;
// Prompt json.RawMessage; Stream *bool}, of which the messages are only
// counted and the last kept. A request that repeats the messages key
// counts its last list alone, where encoding/json merged the lists
// element by element.
type request struct {
	model     []byte
	messages  int
	last      message
	prompt    []byte
	streamSet bool
	stream    bool
}

func readRequest(body []byte) (request, error) {
	var req request
	v, err := oneJSON(body)
	if err != nil {
		return req, err
	}
	w := &jsonWalker{b: v}
	if null, err := w.nullOr('{'); null || err != nil {
		return req, err
	}
	for key := range w.members() {
		switch {
		case key.is("model"):
			err = readString(w, &req.model)
		case key.is("messages"):
			err = req.readMessages(w)
		case key.is("prompt"):
			req.prompt = w.raw()
		case key.is("stream"):
			err = req.readStream(w)
		}
		if err != nil {
			return req, err
		}
	}
	return req, nil
}

func (req *request) readMessages(w *jsonWalker) error {
	req.messages, req.last = 0, message{}
	if null, err := w.nullOr('['); null || err != nil {
		return err
	}
	for range w.elements() {
		var m message
		if err := m.read(w, false); err != nil {
			return err
		}
		req.messages++
		req.last = m
	}
	return nil
}

func (req *request) readStream(w *jsonWalker) error {
	switch w.kind() {
	case 'n':
		req.streamSet = false
	case 't', 'f':
		req.streamSet, req.stream = true, w.kind() == 't'
	default:
		return errJSONType
	}
	return nil
}

// parsePrompt reads the new turn of a request: for chat the last message
// (the history before it was recorded when it was new), for completion the
// prompt.
func parsePrompt(path string, body []byte) prompt {
	req, err := readRequest(body)
	if err != nil {
		// The proxy only forwards JSON, so this is an engine route that
		// takes something else; keep the text as it came.
		return prompt{content: string(body), unparsed: true}
	}
	p := prompt{model: req.model, stream: ollamaRoute(path)}
	if req.streamSet {
		p.stream = req.stream
	}
	switch {
	case chatRoute(path) || (req.messages > 0 && len(req.prompt) == 0):
		p.chat, p.messages = true, req.messages
		if req.messages > 0 {
			p.role, p.content = roleOf(req.last.role), textOf(req.last.content)
		}
	default:
		p.role, p.content = "user", textOf(req.prompt)
	}
	return p
}

// roleOf reads a role, sparing an allocation for the common ones.
func roleOf(tok []byte) string {
	switch string(tok) {
	case `"user"`:
		return "user"
	case `"assistant"`:
		return "assistant"
	case `"system"`:
		return "system"
	}
	return unquote(tok)
}

// textOf reads the text of a message content or a prompt (see appendText).
func textOf(raw []byte) string {
	if len(raw) > 0 && raw[0] == '"' && plainString(raw) {
		return string(raw[1 : len(raw)-1])
	}
	return string(appendText(nil, raw))
}

// appendText appends the text of a message content or a prompt: a string,
// a list of strings (OpenAI completion prompts), or a list of parts of
// which the text ones count (OpenAI multimodal messages), one per line.
// Anything else has no text.
func appendText(dst, raw []byte) []byte {
	if len(raw) == 0 {
		return dst
	}
	switch raw[0] {
	case '"':
		return appendUnquoted(dst, raw)
	case '[':
		w := &jsonWalker{b: raw}
		first := true
		for range w.elements() {
			text := partText(w.raw())
			if text == nil {
				continue
			}
			if !first {
				dst = append(dst, '\n')
			}
			dst = appendUnquoted(dst, text)
			first = false
		}
	}
	return dst
}

// partText returns the text of one element of a list, a JSON string, or
// nil when it has none: a string is its own text, even empty; an object
// read as struct{Type, Text string} counts when its text is not empty and
// its type is text. A value of the wrong kind spoils only its element.
func partText(part []byte) []byte {
	switch part[0] {
	case '"':
		return part
	case '{':
	default:
		return nil
	}
	w := &jsonWalker{b: part}
	var typ, text []byte
	for key := range w.members() {
		var err error
		switch {
		case key.is("type"):
			err = readString(w, &typ)
		case key.is("text"):
			err = readString(w, &text)
		}
		if err != nil {
			return nil
		}
	}
	if len(text) <= len(`""`) {
		return nil
	}
	if typ == nil || stringIs(typ, "") || stringIs(typ, "text") || stringIs(typ, "input_text") {
		return text
	}
	return nil
}

// count is read as an *int: ok tells it non-nil.
type count struct {
	n  int
	ok bool
}

func (c *count) read(w *jsonWalker) error {
	if w.kind() == 'n' {
		*c = count{}
		return nil
	}
	if err := readInt(w, &c.n); err != nil {
		return err
	}
	c.ok = true
	return nil
}

// usage is read as *struct{PromptTokens, CompletionTokens int}.
type usage struct {
	set                bool
	prompt, completion int
}

func (u *usage) read(w *jsonWalker) error {
	null, err := w.nullOr('{')
	if null {
		*u = usage{}
	}
	if null || err != nil {
		return err
	}
	u.set = true
	for key := range w.members() {
		var err error
		switch {
		case key.is("prompt_tokens"):
			err = readInt(w, &u.prompt)
		case key.is("completion_tokens"):
			err = readInt(w, &u.completion)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// choice is read as struct{Delta, Message *message; Text, FinishReason
// *string}.
type choice struct {
	delta, message     message
	text, finishReason []byte
}

func (ch *choice) read(w *jsonWalker) error {
	if null, err := w.nullOr('{'); null || err != nil {
		return err
	}
	for key := range w.members() {
		var err error
		switch {
		case key.is("delta"):
			err = ch.delta.read(w, true)
		case key.is("message"):
			err = ch.message.read(w, true)
		case key.is("text"):
			err = readStringPtr(w, &ch.text)
		case key.is("finish_reason"):
			err = readStringPtr(w, &ch.finishReason)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// chunk is the union of the answer shapes of both dialects: an Ollama chat
// or generate answer (whole or one NDJSON line), an OpenAI answer or one
// SSE event, and either dialect's error. Of the choices only the first
// counts; hasChoice tells there was one.
type chunk struct {
	message    message
	response   []byte // *string
	choice     choice
	hasChoice  bool
	err        []byte // json.RawMessage
	doneReason []byte // string
	promptEval count
	eval       count
	usage      usage
}

// read reads val, a checked JSON value.
func (c *chunk) read(val []byte) error {
	w := &jsonWalker{b: val}
	if null, err := w.nullOr('{'); null || err != nil {
		return err
	}
	for key := range w.members() {
		var err error
		switch {
		case key.is("message"):
			err = c.message.read(w, true)
		case key.is("response"):
			err = readStringPtr(w, &c.response)
		case key.is("choices"):
			err = c.readChoices(w)
		case key.is("error"):
			c.err = w.raw()
		case key.is("done_reason"):
			err = readString(w, &c.doneReason)
		case key.is("prompt_eval_count"):
			err = c.promptEval.read(w)
		case key.is("eval_count"):
			err = c.eval.read(w)
		case key.is("usage"):
			err = c.usage.read(w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readChoices reads a list of choices. Like encoding/json decoding into a
// slice, the first element goes into the first choice already held (a
// repeated key merges), and an empty list or null leaves none.
func (c *chunk) readChoices(w *jsonWalker) error {
	null, err := w.nullOr('[')
	if null {
		c.choice, c.hasChoice = choice{}, false
	}
	if null || err != nil {
		return err
	}
	n := 0
	for i := range w.elements() {
		// The others are read only to check them.
		target, other := &c.choice, choice{}
		if i > 0 {
			target = &other
		}
		if err := target.read(w); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		c.choice = choice{}
	}
	c.hasChoice = n > 0
	return nil
}

// answer is what the engine said, assembled from a whole body or a stream.
type answer struct {
	role         string
	content      []byte
	errText      string
	finishReason string
	// promptTokens and completionTokens are what the engine counted.
	promptTokens, completionTokens count
	// unreadable: the body was neither JSON nor a stream of it.
	unreadable bool
	// partial: the stream stopped in the middle of a chunk.
	partial bool
}

// parseAnswer reads a response body: an OpenAI SSE stream, an Ollama NDJSON
// stream, or one JSON document (which is a stream of one).
func parseAnswer(body []byte) answer {
	var a answer
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

// readJSONStream reads JSON values one after another as json.Decoder
// does, until the body ends or a value does not read.
func (a *answer) readJSONStream(body []byte) {
	chunks := 0
	for rest := body; moreJSON(rest); chunks++ {
		val, next, err := nextJSON(rest)
		var c chunk
		if err == nil {
			err = c.read(val)
		}
		if err != nil {
			if chunks == 0 {
				a.unreadable = true
			} else {
				a.partial = true
			}
			return
		}
		a.add(&c)
		rest = next
	}
	if chunks == 0 && len(body) > 0 {
		a.unreadable = true
	}
}

// readSSE follows the event-stream format: "data:" lines gather until a
// blank line ends the event; OpenAI ends the stream with "data: [DONE]".
func (a *answer) readSSE(body []byte) {
	// data holds the event's data lines. As data lines are joined, an
	// empty one before any other adds nothing.
	var data []byte
	hasData := false
	dispatch := func() bool {
		if !hasData {
			return true
		}
		payload := data
		data, hasData = data[:0], false
		if string(payload) == "[DONE]" {
			return false
		}
		var c chunk
		val, err := oneJSON(payload)
		if err == nil {
			err = c.read(val)
		}
		if err != nil {
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
		if hasData {
			data = append(data, '\n')
		}
		data = append(data, value...)
		hasData = hasData || len(value) > 0
	}
	dispatch()
}

func (a *answer) add(c *chunk) {
	if c.message.set {
		a.takeRole(c.message.role)
		a.content = appendText(a.content, c.message.content)
	}
	if c.response != nil {
		a.content = appendUnquoted(a.content, c.response)
	}
	if c.hasChoice {
		ch := &c.choice
		if ch.delta.set {
			a.takeRole(ch.delta.role)
			a.content = appendText(a.content, ch.delta.content)
		}
		if ch.message.set {
			a.takeRole(ch.message.role)
			a.content = appendText(a.content, ch.message.content)
		}
		if ch.text != nil {
			a.content = appendUnquoted(a.content, ch.text)
		}
		if len(ch.finishReason) > len(`""`) {
			a.finishReason = unquote(ch.finishReason)
		}
	}
	if len(c.err) > 0 && string(c.err) != "null" {
		a.errText = errorText(c.err)
	}
	if len(c.doneReason) > len(`""`) {
		a.finishReason = unquote(c.doneReason)
	}
	if c.promptEval.ok {
		a.promptTokens = c.promptEval
	}
	if c.eval.ok {
		a.completionTokens = c.eval
	}
	if c.usage.set {
		a.promptTokens = count{n: c.usage.prompt, ok: true}
		a.completionTokens = count{n: c.usage.completion, ok: true}
	}
}

func (a *answer) takeRole(role []byte) {
	if len(role) > len(`""`) && a.role == "" {
		a.role = roleOf(role)
	}
}

// errorText reads an error in either dialect: Ollama's {"error":"text"} or
// OpenAI's {"error":{"message":"text",...}}. Anything else is kept as the
// JSON it came as.
func errorText(raw []byte) string {
	switch raw[0] {
	case '"':
		return unquote(raw)
	case 'n':
		return ""
	case '{':
		var msg []byte
		w := &jsonWalker{b: raw}
		for key := range w.members() {
			if key.is("message") && readString(w, &msg) != nil {
				return string(raw)
			}
		}
		if len(msg) > len(`""`) {
			return unquote(msg)
		}
	}
	return string(raw)
}
