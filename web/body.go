package web

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// Bodies reads request bodies for handlers, within two bounds: each
// request's own limit, applied as bytes arrive, and a budget that all the
// bodies being read or held at once share.
//
// The server streams request bodies (fiber.Config.StreamRequestBody), so
// nothing past the first few KiB of a body is read before a handler asks
// for it, and handlers ask only once the caller is authenticated: a client
// cannot make the gateway allocate the size it declares, and only callers
// it trusts can make it hold bodies at all. Handlers must read bodies
// through Read, never c.Body() on an unread stream, which has no limit.
type Bodies struct {
	budget int64
	held   atomic.Int64
}

// NewBodies shares budget bytes among all request bodies held at once.
func NewBodies(budget int64) *Bodies {
	return &Bodies{budget: budget}
}

// Held is how many bytes request bodies hold now.
func (b *Bodies) Held() int64 { return b.held.Load() }

// local keys of the request's body state.
const (
	localBodyHeld = "web.bodyHeld" // int64 bytes reserved from the budget
	localBodyRead = "web.bodyRead" // set once Read has run
)

// Track returns what the request's body held to the budget when the
// request ends. It is the first middleware of the app.
func (b *Bodies) Track(c *fiber.Ctx) error {
	err := c.Next()
	if n, _ := c.Locals(localBodyHeld).(int64); n > 0 {
		b.held.Add(-n)
		c.Locals(localBodyHeld, int64(0))
	}
	return err
}

// Read reads the request's body, at most limit bytes, and keeps it as the
// request's body: c.Body() and form parsing return it from then on. A body
// over the limit gets 413 as soon as it is declared or, when chunked, as
// soon as it passes the limit; a compressed body gets 415 (the gateway's
// APIs read plain JSON and forms, and decoding would let a small body
// become a large one); a full budget gets 503. Calling Read again does
// nothing.
func (b *Bodies) Read(c *fiber.Ctx, limit int) error {
	if c.Locals(localBodyRead) != nil {
		return nil
	}
	c.Locals(localBodyRead, true)
	req := c.Request()
	if enc := req.Header.ContentEncoding(); len(enc) > 0 && string(enc) != "identity" {
		return attach.Errorf(attach.CodeUnsupportedEncoding, "request bodies must not be compressed (Content-Encoding %s)", enc)
	}
	declared := req.Header.ContentLength()
	if declared > limit {
		return tooLarge(limit)
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		// Not streamed (a test server without StreamRequestBody, say):
		// the body is in memory already; only the limit is left to check.
		if len(req.Body()) > limit {
			return tooLarge(limit)
		}
		return nil
	}
	body, err := b.readStream(c, stream, declared, limit)
	if err != nil {
		return err
	}
	req.SetBodyRaw(body)
	return nil
}

// firstChunk is what a body of unknown length reserves first; it grows
// by doubling.
const firstChunk = 32 << 10

// readStream reads stream to its end, reserving room in the budget before
// every allocation.
func (b *Bodies) readStream(c *fiber.Ctx, stream io.Reader, declared, limit int) ([]byte, error) {
	size := declared
	if size < 0 {
		size = min(firstChunk, limit+1)
	}
	if err := b.reserve(c, size); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit || (declared >= 0 && len(buf) >= declared) {
				// A declared body is complete here; anything more is the
				// stream's EOF or a lie the limit catches below.
				if len(buf) > limit {
					return nil, tooLarge(limit)
				}
				return buf, nil
			}
			grown := min(2*cap(buf), limit+1)
			if err := b.reserve(c, grown-cap(buf)); err != nil {
				return nil, err
			}
			buf = append(make([]byte, 0, grown), buf...)
		}
		n, err := stream.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if len(buf) > limit {
				return nil, tooLarge(limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, attach.Errorf(attach.CodeBadRequest, "the request body could not be read to its end")
		}
	}
}

// reserve takes n bytes of the budget for this request, or refuses the
// request when the budget has no room.
func (b *Bodies) reserve(c *fiber.Ctx, n int) error {
	if n <= 0 {
		return nil
	}
	if b.held.Add(int64(n)) > b.budget {
		b.held.Add(-int64(n))
		c.Set(fiber.HeaderRetryAfter, "1")
		return &attach.Error{Code: attach.CodeUnavailable, Reason: "busy", Message: "the gateway is holding too many request bodies; retry shortly"}
	}
	held, _ := c.Locals(localBodyHeld).(int64)
	c.Locals(localBodyHeld, held+int64(n))
	return nil
}

func tooLarge(limit int) error {
	return attach.Errorf(attach.CodeTooLarge, "the request body is larger than %s", FormatBytes(limit))
}

// FormatBytes writes a size the way limits are configured: 10 MiB, 512 KiB.
func FormatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
