package proxy

import (
	"bufio"
	"bytes"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// metering counts the tokens of one chat, completion or embedding
// exchange for the Meter: from the engine's whole answer, or chunk by chunk
// as a stream goes by, keeping no more of it than the line in progress.
// Every method accepts nil (nothing is counted).
type metering struct {
	meter Meter
	u     attach.Usage
	// body is the client's request, valid until the handler returns; the
	// prompt's length is read from it only when the engine reports no
	// counts (for streams: when the stream starts).
	body        []byte
	promptRunes int
	// openAI: the route is OpenAI's chat or completion, whose streams
	// report counts only when asked. strip: the gateway asked the engine
	// for that usage chunk, which the client did not ask for.
	openAI, strip bool
	tally         *dialect.Tally
	// tail is the end of a plain answer too large to copy whole, where
	// both dialects put their counts.
	tail  []byte
	plain bool
	left  bool // the client left: what was sent is what counts
	done  bool
}

// startMetering begins counting an exchange on route r, or returns nil
// when nothing is counted.
func (p *Proxy) startMetering(r *dialect.Route, teamID string, id Identity, engine, model string, body []byte) *metering {
	if p.cfg.Meter == nil || !r.Metered() {
		return nil
	}
	return &metering{
		meter:  p.cfg.Meter,
		body:   body,
		openAI: r.Dialect == attach.DialectOpenAI && r.Generates(),
		u: attach.Usage{
			TeamID: teamID, User: id.User, KeyID: id.KeyID, Agent: id.Agent,
			Engine: engine, Model: model, Path: r.Path,
		},
	}
}

// request is the body to send the engine: an OpenAI streaming chat or
// completion asks for the counts at the end of the stream, unless the
// client asked already.
func (m *metering) request(body []byte) []byte {
	if m == nil || !m.openAI {
		return body
	}
	out, changed := dialect.WithStreamUsage(body)
	m.strip = changed
	return out
}

func (m *metering) started(t time.Time) {
	if m != nil {
		m.u.Time = t
	}
}

// maxKeptPrompt bounds the request body a stream keeps for an estimate of
// its prompt: a larger one is read at once.
const maxKeptPrompt = 64 << 10

// streaming prepares for an answer passed on chunk by chunk. The client's
// body is gone by the end, so a copy is kept for an estimate of the prompt
// (or, when large, its length is read now).
func (m *metering) streaming(format streamFormat) {
	if m == nil {
		return
	}
	if len(m.body) <= maxKeptPrompt {
		// Read only if the engine reports no counts, which is rare.
		m.body = bytes.Clone(m.body)
	} else {
		m.promptRunes, m.body = dialect.PromptRunes(m.body), nil
	}
	if format == formatPlain {
		// A JSON answer too large to copy whole (embeddings of a large
		// batch): its counts are at its end.
		m.plain = true
		return
	}
	m.tally = dialect.NewTally(format == formatSSE, m.strip)
}

// pass counts a part of a stream and returns what of it goes on to the
// client (the part itself, unless the usage chunk is stripped from it).
func (m *metering) pass(b []byte) []byte {
	if m == nil || m.left {
		return b
	}
	if m.plain {
		m.keepTail(b)
		return b
	}
	if m.tally == nil {
		return b
	}
	return m.tally.Pass(b)
}

// keepTail keeps the last dialect.TailSize bytes of a plain answer.
func (m *metering) keepTail(b []byte) {
	if len(b) >= dialect.TailSize {
		m.tail = append(m.tail[:0], b[len(b)-dialect.TailSize:]...)
		return
	}
	if over := len(m.tail) + len(b) - dialect.TailSize; over > 0 {
		m.tail = append(m.tail[:0], m.tail[over:]...)
	}
	m.tail = append(m.tail, b...)
}

// rest is what the stream held back at its end (see dialect.Tally.End).
func (m *metering) rest() []byte {
	if m == nil || m.tally == nil || m.left {
		return nil
	}
	return m.tally.End()
}

// stop notes that the client left: nothing more is counted.
func (m *metering) stop() {
	if m != nil {
		m.left = true
	}
}

// whole counts a non-streamed answer and hands the exchange to the meter.
func (m *metering) whole(status int, answer []byte) {
	if m == nil {
		return
	}
	m.finish(status, dialect.CountAnswer(answer))
}

// failed hands over an exchange the engine gave no answer to (or one the
// client did not wait for): no tokens.
func (m *metering) failed(status int) {
	if m != nil {
		m.finish(status, dialect.Counts{})
	}
}

// ended hands over a streamed exchange.
func (m *metering) ended(status int) {
	if m == nil {
		return
	}
	var c dialect.Counts
	switch {
	case m.tally != nil:
		c = m.tally.Counts()
	case m.plain:
		c = dialect.TailCounts(m.tail)
		m.tail = nil
	}
	m.finish(status, c)
}

// finish fills the counts in and calls the meter, once. An answered
// exchange the engine did not count is estimated from the text: the
// prompt's and the answer's (dialect.RunesPerToken).
func (m *metering) finish(status int, c dialect.Counts) {
	if m.done {
		return
	}
	m.done = true
	defer func() { m.body = nil }()
	m.u.Status = status
	m.u.Latency = time.Since(m.u.Time)
	switch {
	case c.Reported:
		m.u.PromptTokens, m.u.CompletionTokens = c.Prompt, c.Completion
	case ok(status):
		if m.body != nil {
			m.promptRunes = dialect.PromptRunes(m.body)
		}
		m.u.PromptTokens = dialect.EstimateTokens(m.promptRunes)
		m.u.CompletionTokens = dialect.EstimateTokens(c.TextRunes)
		m.u.Estimated = true
	}
	m.meter.Measure(m.u)
}

func ok(status int) bool { return status >= 200 && status < 300 }

// writeRest passes on what the meter held back of a stream that ended (a
// last event that came without the blank line closing it) and, for a
// translated stream, the translation's last line.
func (s *upstreamStream) writeRest(w *bufio.Writer) {
	rest := s.meter.rest()
	part := rest
	if s.tr != nil {
		s.out = s.tr.Write(s.out[:0], rest)
		s.out = s.tr.End(s.out)
		part = s.out
	}
	if len(part) > 0 && send(w, part) == nil {
		s.tap.add(rest)
	}
}
