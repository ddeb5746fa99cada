package proxy

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// engineConn enforces the two waits an engine may make the gateway sit
// through: until the first byte of an answer (ResponseHeaderTimeout, which
// covers a model loading and the prompt being read) and between two reads
// of a stream (StreamIdleTimeout). fasthttp's own ReadTimeout would instead
// bound the whole answer, which a long generation legitimately exceeds.
//
// A connection carries one request at a time; fasthttp hands it from the
// goroutine that sends the request to the one that reads a streamed answer
// with a happens-before edge, so the fields need no lock.
type engineConn struct {
	net.Conn
	header time.Duration
	idle   time.Duration
	// awaiting is set once a request is written and cleared by the first
	// byte of its answer.
	awaiting bool
	// limit is a deadline fasthttp asked for itself (a request timeout);
	// the earlier of it and ours applies.
	limit time.Time
	// open is the dialer's set of open connections, by local address.
	open *sync.Map
	// pending is the dialer's set of watched requests, by tag.
	pending *sync.Map
}

// Close closes the connection and forgets it.
func (c *engineConn) Close() error {
	c.open.Delete(c.LocalAddr().String())
	return c.Conn.Close()
}

// Write sends a request. Its first write holds the request's header block,
// which may carry the watch tag: the connection then becomes the one that
// closes when the request's client leaves, and the tag's line is left out.
func (c *engineConn) Write(p []byte) (int, error) {
	if c.awaiting {
		return c.Conn.Write(p)
	}
	c.awaiting = true
	tag, from, to, ok := takeWatchTag(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if w, ok := c.pending.Load(tag); ok {
		if err := w.(*pending).attach(c); err != nil {
			return 0, err
		}
	}
	bufs := net.Buffers{p[:from], p[to:]}
	n, err := bufs.WriteTo(c.Conn)
	if err != nil {
		// What the caller asked to write, of which n reached the wire.
		if int(n) >= from {
			n += int64(to - from)
		}
		return int(n), err
	}
	return len(p), nil
}

func (c *engineConn) Read(p []byte) (int, error) {
	wait := c.idle
	if c.awaiting {
		wait = c.header
	}
	var deadline time.Time
	if wait > 0 {
		deadline = time.Now().Add(wait)
	}
	if !c.limit.IsZero() && (deadline.IsZero() || c.limit.Before(deadline)) {
		deadline = c.limit
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.awaiting = false
	}
	return n, err
}

func (c *engineConn) SetReadDeadline(t time.Time) error {
	c.limit = t
	return nil
}

func (c *engineConn) SetDeadline(t time.Time) error {
	c.limit = t
	return c.Conn.SetWriteDeadline(t)
}

// dialError marks a failure to reach an engine at all, as opposed to an
// engine that was reached and then failed to answer in time.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial engine: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dialer opens connections to engines, wrapped in engineConn.
type dialer struct {
	net func(ctx context.Context, network, addr string) (net.Conn, error)
	// own dials the operator's own engines: private addresses allowed.
	own    func(ctx context.Context, network, addr string) (net.Conn, error)
	header time.Duration
	idle   time.Duration
	// open holds every open engine connection by its local address, so
	// that a stream's connection (fasthttp names it by address only) can
	// be closed when the client leaves.
	open sync.Map
	// pending holds the watched requests of clients waiting for a
	// non-streamed answer, by tag (see headerWatch).
	pending sync.Map
	nextTag atomic.Uint64
}

// newDialer dials with guard's rule applied to every address a name
// resolves to, after resolution and before the connection is made: a
// refused engine never sees a SYN, neither through a changed DNS answer
// nor as one saved before the policy tightened. Both IPv4 and IPv6
// addresses are dialed.
func newDialer(guard *netguard.Policy, timeout, header, idle time.Duration) *dialer {
	d := (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	own := d
	if guard != nil {
		d = guard.Dialer(timeout).DialContext
		own = netguard.Policy{AllowPrivate: true}.Dialer(timeout).DialContext
	}
	return &dialer{net: d, own: own, header: header, idle: idle}
}

func (d *dialer) dial(addr string) (net.Conn, error) { return d.connect(d.net, addr) }

func (d *dialer) dialOwn(addr string) (net.Conn, error) { return d.connect(d.own, addr) }

func (d *dialer) connect(dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) (net.Conn, error) {
	conn, err := dial(context.Background(), "tcp", addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	c := &engineConn{Conn: conn, header: d.header, idle: d.idle, open: &d.open, pending: &d.pending}
	d.open.Store(conn.LocalAddr().String(), c)
	return c, nil
}

// closeConn closes the open engine connection whose local address is
// local, if there is one.
func (d *dialer) closeConn(local net.Addr) {
	if local == nil {
		return
	}
	if c, ok := d.open.Load(local.String()); ok {
		c.(*engineConn).Close()
	}
}
