package memory

import (
	"encoding/binary"
	"sync"
	"time"
)

// copyRows builds the body of a COPY ... FROM STDIN (FORMAT binary) for a
// fixed row shape. Every exchange the gateway proxies becomes two rows, and
// pgx's general CopyFrom plans and encodes each value through its type map,
// which cost more CPU than everything else the recorder does to a row. The
// events table has a handful of column types, each with a simple binary
// form, so the rows are written here directly.
//
// The format: a signature, flags and header extension, then per row a
// field count and each field as a length (-1 for NULL) and its bytes, then
// -1 as the trailer.
type copyRows struct {
	buf    []byte
	fields int // fields per row
}

var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// copyBufs keeps the bodies of finished COPYs for the next batch: the
// recorder writes one every window, and allocating it anew each time was a
// fair share of the garbage it made.
var copyBufs sync.Pool

// maxPooledCopy bounds what the pool keeps, so that one huge batch does not
// stay in memory for good.
const maxPooledCopy = 4 << 20

func newCopyRows(fields, sizeHint int) *copyRows {
	size := len(copySignature) + 8 + sizeHint
	var buf []byte
	if b, ok := copyBufs.Get().(*[]byte); ok && cap(*b) >= size {
		buf = (*b)[:0]
	} else {
		buf = make([]byte, 0, size)
	}
	c := &copyRows{buf: buf, fields: fields}
	c.buf = append(c.buf, copySignature...)
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0) // flags: no OIDs
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0) // no header extension
	return c
}

func (c *copyRows) row() { c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(c.fields)) }

func (c *copyRows) uuid(id [16]byte) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 16)
	c.buf = append(c.buf, id[:]...)
}

// text writes s as text, which must be valid UTF-8 without NUL (see
// sanitize): the binary form of text is its bytes in the server's encoding,
// which the gateway's connections keep at UTF-8.
func (c *copyRows) text(s string) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(s)))
	c.buf = append(c.buf, s...)
}

func (c *copyRows) bool(b bool) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 1)
	if b {
		c.buf = append(c.buf, 1)
	} else {
		c.buf = append(c.buf, 0)
	}
}

// json writes a JSON document, or NULL when doc is empty. The binary form
// of json is its text, which Postgres checks as it would text input.
func (c *copyRows) json(doc []byte) {
	if len(doc) == 0 {
		c.buf = binary.BigEndian.AppendUint32(c.buf, 0xffffffff)
		return
	}
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(doc)))
	c.buf = append(c.buf, doc...)
}

// pgEpoch is where Postgres counts timestamps from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// timestamptz writes t as microseconds since 2000-01-01 UTC.
func (c *copyRows) timestamptz(t time.Time) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(t.Sub(pgEpoch).Microseconds()))
}

// release hands the body back for reuse; c must not be used after.
func (c *copyRows) release() {
	if cap(c.buf) <= maxPooledCopy {
		b := c.buf[:0]
		copyBufs.Put(&b)
	}
	c.buf = nil
}

// end writes the trailer and returns the whole body.
func (c *copyRows) end() []byte {
	return binary.BigEndian.AppendUint16(c.buf, 0xffff)
}
