package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/web"
)

// streamFormat is how an answer frames its parts, which decides how the
// proxy reports an engine failing in the middle of it.
type streamFormat uint8

const (
	formatPlain  streamFormat = iota
	formatNDJSON              // Ollama: one JSON object per line
	formatSSE                 // OpenAI: server-sent events
)

func streamFormatOf(contentType []byte) streamFormat {
	switch {
	case hasPrefixFold(contentType, "application/x-ndjson"), hasPrefixFold(contentType, "application/jsonl"):
		return formatNDJSON
	case hasPrefixFold(contentType, "text/event-stream"):
		return formatSSE
	}
	return formatPlain
}

// upstreamStream passes a streamed engine answer on to the client.
type upstreamStream struct {
	proxy  *Proxy
	resp   *fasthttp.Response
	body   io.Reader
	buf    *[]byte
	engine string
	format streamFormat
	tap    *capture  // nil when the exchange is not mirrored
	meter  *metering // nil when the exchange is not counted
	status int
	client net.Conn // the client's connection, watched for its leaving
	local  net.Addr // the engine connection's local address
	left   atomic.Bool
	tr     *dialect.Stream // translates the answer for the client; nil passes it as it is
	out    []byte          // the translated part, reused
}

// pump copies the engine's answer to w, flushing after every read so each
// chunk reaches the client as it arrives. When the client goes away it stops
// reading and closes the engine connection, which tells the engine to stop
// generating. It runs once the handler has returned and owns everything in s.
func (s *upstreamStream) pump(w *bufio.Writer) {
	defer s.release()
	// A client that leaves while the engine is silent (thinking, or stuck)
	// is not noticed by writing; watching its connection is what stops
	// the engine from generating for nobody until the idle timeout.
	stop := watchClient(s.client, func() {
		s.left.Store(true)
		s.proxy.dialer.closeConn(s.local)
	})
	defer stop()
	buf := *s.buf
	for {
		n, rerr := s.body.Read(buf)
		if n > 0 {
			// What goes on: the engine's bytes, less the usage chunk the
			// gateway asked for and the client did not; translated into
			// the client's dialect when it speaks another.
			engine := s.meter.pass(buf[:n])
			part := engine
			if s.tr != nil {
				s.out = s.tr.Write(s.out[:0], part)
				part = s.out
			}
			if err := send(w, part); err != nil {
				s.tap.stop()
				s.abort(err)
				return
			}
			// Memory keeps what the client was sent: a part read after
			// it left went nowhere.
			if s.left.Load() {
				s.tap.stop()
				s.meter.stop()
			} else {
				s.tap.add(engine)
			}
		}
		if rerr == io.EOF {
			s.writeRest(w)
			return
		}
		if rerr != nil && s.left.Load() {
			s.proxy.log.Info("client left; engine stream closed", "engine", s.engine)
			s.tap.stop()
			s.abort(rerr)
			return
		}
		if rerr != nil {
			s.proxy.log.Warn("engine stream broke off", "engine", s.engine, "err", rerr)
			s.writeBreak(w, rerr)
			s.abort(rerr)
			return
		}
	}
}

// abort closes the engine connection instead of returning it to the pool:
// the rest of the answer is unwanted.
func (s *upstreamStream) abort(err error) {
	if c, ok := s.body.(fasthttp.ReadCloserWithError); ok {
		_ = c.CloseWithError(err)
	}
}

func (s *upstreamStream) release() {
	// Whatever part of the answer went by is recorded, even when the
	// client or the engine broke the stream off.
	s.proxy.finishCapture(s.tap, s.status)
	s.meter.ended(s.status)
	_ = s.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(s.resp)
	s.proxy.bufs.Put(s.buf)
}

// writeBreak tells the client, in the stream's own framing, that the engine
// stopped before the end: the status line has gone out long ago, and a
// silently truncated stream would look complete. Ollama reports errors
// mid-stream the same way.
func (s *upstreamStream) writeBreak(w *bufio.Writer, err error) {
	brk := attach.Errorf(attach.CodeUpstreamUnavailable, "engine %s broke off the stream", s.engine)
	if isTimeout(err) {
		brk = attach.Errorf(attach.CodeUpstreamTimeout, "engine %s went silent in the middle of the stream", s.engine)
	}
	var line []byte
	switch s.format {
	case formatNDJSON:
		line, _ = json.Marshal(struct {
			Error string `json:"error"`
		}{brk.Message})
		line = append(line, '\n')
	case formatSSE:
		line = append(append([]byte("\ndata: "), web.ErrorJSON(brk)...), "\n\n"...)
	default:
		return
	}
	if _, werr := w.Write(line); werr == nil {
		_ = w.Flush()
	}
}
