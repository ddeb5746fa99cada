package proxy

import (
	"bytes"
	"errors"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

// headerWatch ties an engine request to the watch on its client. fasthttp
// picks the engine connection for a request out of its pool and never says
// which, yet that is the connection to close when the client leaves while
// the engine works on a non-streamed answer. So the proxy adds this header
// to the request, and the engine connection takes it out again as it writes
// the request (takeWatchTag): engines never see it, and clients cannot send
// it (it is an X-Attach-* name, stripped from every request).
const headerWatch = "X-Attach-Watch"

var watchLine = []byte("\r\n" + headerWatch + ": ")

// errClientLeft fails the write of a request whose client has gone before
// any engine connection took it.
var errClientLeft = errors.New("the client left before the request reached the engine")

// pending is one engine request of a watched client: the connection that
// carries it, once one does, and whether the client has left.
type pending struct {
	mu   sync.Mutex
	conn *engineConn
	left bool
}

// leave marks the client gone and closes the engine connection carrying the
// request, if one does yet; one that takes it later refuses it.
func (w *pending) leave() {
	w.mu.Lock()
	w.left = true
	c := w.conn
	w.conn = nil
	w.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// attach records that c carries the request, or fails when the client has
// already left.
func (w *pending) attach(c *engineConn) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.left {
		return errClientLeft
	}
	w.conn = c
	return nil
}

// detach forgets the connection: the answer is read, and the connection may
// go back to the pool for other requests, which a late leave must not close.
func (w *pending) detach() {
	w.mu.Lock()
	w.conn = nil
	w.mu.Unlock()
}

// hasLeft says whether the client left.
func (w *pending) hasLeft() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.left
}

// track tags req and registers its pending entry; forget undoes it.
func (d *dialer) track(req *fasthttp.Request) (tag uint64, w *pending) {
	tag = d.nextTag.Add(1)
	w = &pending{}
	d.pending.Store(tag, w)
	var buf [20]byte
	req.Header.SetBytesV(headerWatch, strconv.AppendUint(buf[:0], tag, 10))
	return tag, w
}

// clientLeft says whether req is a watched request whose client has left.
func (d *dialer) clientLeft(req *fasthttp.Request) bool {
	tag, err := strconv.ParseUint(string(req.Header.Peek(headerWatch)), 10, 64)
	if err != nil {
		return false
	}
	w, ok := d.pending.Load(tag)
	return ok && w.(*pending).hasLeft()
}

func (d *dialer) forget(tag uint64) {
	d.pending.Delete(tag)
}

// takeWatchTag finds the watch header in p, the first write of a request,
// and returns its tag and the header line's bounds, so that the caller
// writes p without it. Only the header block is searched: a body cannot
// pass for the header.
func takeWatchTag(p []byte) (tag uint64, from, to int, ok bool) {
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, 0, 0, false
	}
	from = bytes.Index(p[:end+2], watchLine)
	if from < 0 {
		return 0, 0, 0, false
	}
	value := from + len(watchLine)
	eol := bytes.Index(p[value:end+2], []byte("\r\n"))
	if eol < 0 {
		return 0, 0, 0, false
	}
	tag, err := strconv.ParseUint(string(p[value:value+eol]), 10, 64)
	if err != nil {
		return 0, 0, 0, false
	}
	// Drop the line's leading CRLF and keep its trailing one, which ends
	// the line before it.
	return tag, from, value + eol, true
}
