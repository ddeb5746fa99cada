package dialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Limits on what a Stream holds back. An engine's event is a few hundred
// bytes; a whole answer (embeddings of many texts) can be large, but not
// without bound.
const (
	maxEventBytes = 8 << 20
	maxWholeBytes = 128 << 20
)

// Stream turns an OpenAI engine's answer into Ollama's as it arrives: each
// server-sent event with text becomes an NDJSON line at once, and the end
// of the stream (data: [DONE], or the body's end) the line marked done,
// with done_reason and the token counts the engine reported. An answer
// that is not a stream of events (an error, or a whole answer too large
// for the proxy to copy at once) is gathered and translated at its end.
// A client that asked for no stream gets one whole answer at the end even
// when the engine streamed.
type Stream struct {
	t      *Translation
	state  *answerState
	sse    bool
	status int
	now    func() time.Time
	// held is a line begun but not ended (events), or the whole body.
	held []byte
	// data gathers the current event's data lines.
	data []byte
	// over: [DONE] came, an error was passed on, or a limit was hit;
	// nothing more is read.
	over bool
}

// NewStream starts translating an answer with status, sse telling whether
// it is a stream of server-sent events (its Content-Type). now stamps
// lines the engine gave no time for.
func (t *Translation) NewStream(status int, sse bool, now func() time.Time) *Stream {
	st := t.newState(now())
	st.keepText = !t.Stream
	return &Stream{t: t, state: st, sse: sse && status < 400, status: status, now: now}
}

// ContentType is the media type of what the client is sent for an answer
// with status: NDJSON lines when it streams, else one JSON document (an
// error too, as Ollama answers errors and its clients read them).
func (t *Translation) ContentType(status int) string {
	if t.lines(status) {
		return "application/x-ndjson"
	}
	return "application/json; charset=utf-8"
}

// lines says whether the client gets NDJSON lines, each ended by a newline.
func (t *Translation) lines(status int) bool { return t.Stream && status < 400 }

// Write reads p, the next bytes of the engine's answer, and appends to dst
// what the client is sent for them: nothing, or whole NDJSON lines.
func (s *Stream) Write(dst, p []byte) []byte {
	if s.over {
		return dst
	}
	if !s.sse {
		if len(s.held)+len(p) > maxWholeBytes {
			return s.fail(dst, fmt.Sprintf("the engine's answer is larger than %d MiB", maxWholeBytes>>20))
		}
		s.held = append(s.held, p...)
		return dst
	}
	for len(p) > 0 && !s.over {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(s.held)+len(p) > maxEventBytes {
				return s.fail(dst, "the engine sent an event too large to pass on")
			}
			s.held = append(s.held, p...)
			return dst
		}
		line := p[:i]
		if len(s.held) > 0 {
			s.held = append(s.held, line...)
			line = s.held
		}
		dst = s.readLine(dst, line)
		s.held = s.held[:0]
		p = p[i+1:]
	}
	return dst
}

// End appends what the client is sent once the engine's answer has ended
// without breaking off: the last line, marked done, or the whole answer.
func (s *Stream) End(dst []byte) []byte {
	if s.over {
		return dst
	}
	if !s.sse {
		s.over = true
		out, err := s.t.Answer(s.status, s.held, s.now())
		if err != nil {
			out, _ = json.Marshal(errorLine{err.Error()})
		}
		dst = append(dst, out...)
		if s.t.lines(s.status) {
			dst = append(dst, '\n')
		}
		return dst
	}
	if len(s.held) > 0 {
		dst = s.readLine(dst, s.held)
		s.held = s.held[:0]
	}
	dst = s.dispatch(dst)
	if s.over {
		return dst
	}
	return s.finish(dst)
}

// readLine reads one line of the event stream: a blank line ends an event,
// a data line adds to it, other fields (event, id, retry, comments) carry
// nothing to translate.
func (s *Stream) readLine(dst, line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return s.dispatch(dst)
	}
	field, value, _ := bytes.Cut(line, []byte(":"))
	if string(field) != "data" {
		return dst
	}
	value = bytes.TrimPrefix(value, []byte(" "))
	if len(s.data)+len(value) > maxEventBytes {
		return s.fail(dst, "the engine sent an event too large to pass on")
	}
	if len(s.data) > 0 {
		s.data = append(s.data, '\n')
	}
	s.data = append(s.data, value...)
	return dst
}

// dispatch translates the event gathered.
func (s *Stream) dispatch(dst []byte) []byte {
	if len(s.data) == 0 || s.over {
		return dst
	}
	data := s.data
	s.data = s.data[:0]
	if string(data) == "[DONE]" {
		return s.finish(dst)
	}
	var a openaiAnswer
	if json.Unmarshal(data, &a) != nil {
		// Not an event of the answer (a keep-alive of some other shape):
		// nothing to pass on.
		return dst
	}
	if len(a.Error) > 0 && string(a.Error) != "null" {
		return s.fail(dst, errorText(a.Error))
	}
	p := s.state.add(&a)
	if s.t.Stream && (p.text != "" || p.thinking != "") {
		dst = appendLine(dst, s.state.line(p))
	}
	return dst
}

// finish appends the last line and ends the stream.
func (s *Stream) finish(dst []byte) []byte {
	s.over = true
	if !s.t.Stream {
		b, _ := json.Marshal(s.state.final(true))
		return append(dst, b...)
	}
	return appendLine(dst, s.state.final(false))
}

// fail ends the stream with Ollama's error line, which its clients raise.
func (s *Stream) fail(dst []byte, msg string) []byte {
	s.over = true
	b, _ := json.Marshal(errorLine{msg})
	dst = append(dst, b...)
	if s.t.lines(s.status) {
		dst = append(dst, '\n')
	}
	return dst
}

func appendLine(dst []byte, v ollamaAnswer) []byte {
	b, _ := json.Marshal(v)
	dst = append(dst, b...)
	return append(dst, '\n')
}
