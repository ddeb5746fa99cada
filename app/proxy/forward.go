package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
	"github.com/attach-dev/attach-gateway/web"
)

// maxBuffered is the largest fixed-length answer copied whole before it is
// sent on; longer ones, and every stream, are passed on chunk by chunk.
const maxBuffered = 1 << 20

// forward sends the client's request to engine e of team and passes the
// answer back. body is nil for requests without one. With tr, r and body
// are the translated request, and the answer is translated back.
func (p *Proxy) forward(c *fiber.Ctx, team *tenants.Snapshot, r *dialect.Route, e attach.Engine, body []byte, id Identity, tap *capture, tr *dialect.Translation, m *metering) error {
	bp := p.bufs.Get().(*[]byte)
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	// An engine that names no Content-Type must not gain fasthttp's default.
	resp.Header.SetNoDefaultContentType(true)

	in := c.Request()
	req.SetRequestURIBytes(dialect.AppendURL((*bp)[:0], e.BaseURL, r.Path, in.URI().QueryString()))
	req.Header.SetMethodBytes(in.Header.Method())
	copyRequestHeaders(&req.Header, &in.Header, &forwardedRequest{
		remote: c.Context().RemoteAddr(),
		proto:  c.Protocol(),
		engine: e,
		id:     id,
		via:    p.cfg.Via,
	}, *bp)
	if body != nil {
		// The client's body stays valid until this handler returns, and Do
		// has sent it by then: no copy needed.
		req.SetBodyRaw(body)
	}
	if tr != nil {
		translatedHeaders(&req.Header)
	}

	// A client that leaves while the engine works on its answer closes the
	// engine's connection, which tells the engine to stop.
	tag, watch := p.dialer.track(req)
	stopWatch := watchClient(c.Context().Conn(), watch.leave)
	// unwatch ends the watch once the answer is read or handed on, before
	// its connection can go back to the pool, and says whether the client
	// left meanwhile.
	unwatch := func() bool {
		watch.detach()
		stopWatch()
		p.dialer.forget(tag)
		return watch.hasLeft()
	}

	start := time.Now()
	tap.started(start)
	m.started(start)
	err := p.clientFor(e).Do(req, resp)
	took := time.Since(start)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		p.bufs.Put(bp)
		if unwatch() {
			m.failed(statusClientClosed)
			return p.departed(c, e, r, took)
		}
		answer := upstreamError(e, err)
		status := web.Status(answer)
		defer m.failed(status)
		p.observe(e.Name, r.Path, status, took)
		p.log.Warn("engine request failed", "engine", e.Name, "route", r.Path, "status", status, "err", err)
		// Written here rather than by the error handler: the answer is
		// part of the exchange the tap records.
		werr := web.WriteError(c, answer)
		tap.add(c.Response().Body())
		p.finishCapture(tap, status)
		return werr
	}
	stream := resp.BodyStream()
	out := c.Response()
	if stream == nil || !isStreamed(&resp.Header) {
		// The fast path: a small answer of known length, copied whole, so
		// the engine connection goes back to the pool at once.
		err := readAll(stream, out, *bp)
		left := unwatch()
		resp.CloseBodyStream()
		p.bufs.Put(bp)
		if left {
			fasthttp.ReleaseResponse(resp)
			out.ResetBody()
			m.failed(statusClientClosed)
			return p.departed(c, e, r, took)
		}
		p.observe(e.Name, r.Path, resp.StatusCode(), took)
		if err != nil {
			fasthttp.ReleaseResponse(resp)
			out.ResetBody()
			p.log.Warn("engine answer broke off", "engine", e.Name, "route", r.Path, "err", err)
			werr := web.WriteError(c, attach.Errorf(attach.CodeUpstreamUnavailable, "engine %s broke off its answer", e.Name))
			tap.add(out.Body())
			p.finishCapture(tap, http.StatusBadGateway)
			m.failed(http.StatusBadGateway)
			return werr
		}
		out.SetStatusCode(resp.StatusCode())
		copyResponseHeaders(&out.Header, &resp.Header, team.Team.EngineCookies)
		fasthttp.ReleaseResponse(resp)
		tap.add(out.Body())
		if err := p.translateAnswer(out, tr, e); err != nil {
			werr := web.WriteError(c, err)
			p.finishCapture(tap, http.StatusBadGateway)
			m.failed(http.StatusBadGateway)
			return werr
		}
		p.finishCapture(tap, out.StatusCode())
		m.whole(out.StatusCode(), out.Body())
		return nil
	}

	// From here the stream watches its client itself (pump).
	unwatch()
	p.observe(e.Name, r.Path, resp.StatusCode(), took)
	out.SetStatusCode(resp.StatusCode())
	copyResponseHeaders(&out.Header, &resp.Header, team.Team.EngineCookies)
	s := &upstreamStream{
		proxy:  p,
		resp:   resp,
		body:   stream,
		buf:    bp,
		engine: e.Name,
		format: streamFormatOf(resp.Header.ContentType()),
		tap:    tap,
		meter:  m,
		status: resp.StatusCode(),
		client: c.Context().Conn(),
		local:  resp.LocalAddr(),
	}
	// The meter reads the engine's framing; a translation then sets the
	// client's.
	m.streaming(s.format)
	if tr != nil {
		s.translate(&out.Header, tr)
	}
	c.Context().SetBodyStreamWriter(s.pump)
	return nil
}

// statusClientClosed is what a request whose client left before its answer
// counts as in the upstream metrics: nginx's "client closed request".
const statusClientClosed = 499

// departed ends a request whose client left while the engine worked on its
// answer: the engine's connection is closed already, nothing is recorded
// (there was no exchange), and nothing is written, as nobody would read it.
func (p *Proxy) departed(c *fiber.Ctx, e attach.Engine, r *dialect.Route, took time.Duration) error {
	p.observe(e.Name, r.Path, statusClientClosed, took)
	p.log.Info("client left; engine request closed", "engine", e.Name, "route", r.Path)
	c.Context().SetConnectionClose()
	return nil
}

// readAll appends a fixed-length answer to out, reading until the end of
// the stream so that the engine connection can be reused.
func readAll(stream io.Reader, out *fasthttp.Response, buf []byte) error {
	out.ResetBody()
	if stream == nil {
		return nil
	}
	for {
		n, err := stream.Read(buf)
		out.AppendBody(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// isStreamed says whether an answer must be passed on as it arrives rather
// than copied whole: streams announce themselves by their framing (chunked,
// or until the connection closes) or their media type.
func isStreamed(h *fasthttp.ResponseHeader) bool {
	if n := h.ContentLength(); n < 0 || n > maxBuffered {
		return true
	}
	return streamFormatOf(h.ContentType()) != formatPlain
}

func (p *Proxy) observe(engine, route string, status int, d time.Duration) {
	if p.cfg.Observer != nil {
		p.cfg.Observer.ObserveUpstream(engine, route, status, d)
	}
}

// ReasonEngineAddressRefused answers a call to an engine whose address the
// network policy refuses (502, this code).
const ReasonEngineAddressRefused = "engine_address_refused"

// upstreamError maps a failed engine call to what the client is told. The
// message names the engine by its name only: its URL may hold credentials.
func upstreamError(e attach.Engine, err error) *attach.Error {
	var de *dialError
	switch {
	case errors.Is(err, netguard.ErrRefused):
		// The install's policy, not a broken engine: say so, and which
		// setting decides, so an operator is not sent looking for an outage.
		return &attach.Error{Code: attach.CodeUpstreamUnavailable, Reason: ReasonEngineAddressRefused,
			Message: "engine " + e.Name + " is at an address this gateway does not call: loopback and private " +
				"addresses need ATTACH_ALLOW_PRIVATE_NETWORKS=true, link-local ones are never called", Err: err}
	case errors.As(err, &de):
		return attach.Errorf(attach.CodeUpstreamUnavailable, "engine %s is unreachable", e.Name)
	case isTimeout(err):
		return attach.Errorf(attach.CodeUpstreamTimeout, "engine %s did not answer in time", e.Name)
	default:
		return attach.Errorf(attach.CodeUpstreamUnavailable, "engine %s failed to answer", e.Name)
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, fasthttp.ErrTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hasPrefixFold is bytes.HasPrefix, ignoring ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
