package proxy

import (
	"bufio"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// The proxy's part of translating between the dialects: the requests and
// answers themselves are rewritten by package dialect; here they meet the
// HTTP exchange. The memory tap keeps the engine's side of a translated
// exchange (the OpenAI request and answer), which memory reads like any.

// translateRequest rewrites an Ollama request for an OpenAI engine. A body
// that does not read as the route's request is the client's fault: 400.
func translateRequest(r *dialect.Route, body []byte) (*dialect.Translation, error) {
	tr, err := dialect.Translate(r, body)
	var fe *dialect.FieldError
	switch {
	case errors.As(err, &fe):
		return nil, &attach.Error{Code: attach.CodeInvalidJSON, Message: fe.Message, Field: fe.Field}
	case err != nil:
		return nil, err
	}
	return tr, nil
}

// translatedHeaders sets what differs in the headers of a translated
// request: its body is JSON the gateway wrote, and the answer must come
// uncompressed so that it can be rewritten.
func translatedHeaders(h *fasthttp.RequestHeader) {
	h.SetContentType("application/json")
	h.Del(fasthttp.HeaderAcceptEncoding)
}

// translateAnswer rewrites a whole answer in out for the client, when tr
// says it is translated. The status stays; an engine's error becomes
// Ollama's {"error": "..."}. A success that is not an OpenAI answer is
// answered 502.
func (p *Proxy) translateAnswer(out *fasthttp.Response, tr *dialect.Translation, e attach.Engine) error {
	if tr == nil {
		return nil
	}
	b, err := tr.Answer(out.StatusCode(), out.Body(), time.Now())
	if err != nil {
		p.log.Warn("engine answer does not translate", "engine", e.Name, "route", tr.Engine.Path, "err", err)
		out.ResetBody()
		return attach.Errorf(attach.CodeUpstreamUnavailable, "engine %s gave an answer that is not an OpenAI answer", e.Name)
	}
	ct := tr.ContentType(out.StatusCode())
	if ct == "application/x-ndjson" {
		// A stream the engine answered whole: one line, done.
		b = append(b, '\n')
	}
	out.SetBodyRaw(b)
	out.Header.Del(fasthttp.HeaderContentEncoding)
	out.Header.SetContentType(ct)
	return nil
}

// translate makes the stream pass the answer on translated: as NDJSON lines
// when the client streams, else as one JSON answer at its end.
func (s *upstreamStream) translate(h *fasthttp.ResponseHeader, tr *dialect.Translation) {
	s.tr = tr.NewStream(s.status, s.format == formatSSE, time.Now)
	ct := tr.ContentType(s.status)
	h.SetContentType(ct)
	h.Del(fasthttp.HeaderContentEncoding)
	s.format = formatPlain
	if ct == "application/x-ndjson" {
		s.format = formatNDJSON
	}
}

// send writes a part of the answer and flushes it, so it reaches the client
// now; an empty part (a translated event that carried no text) is skipped.
func send(w *bufio.Writer, part []byte) error {
	if len(part) == 0 {
		return nil
	}
	if _, err := w.Write(part); err != nil {
		return err
	}
	return w.Flush()
}
