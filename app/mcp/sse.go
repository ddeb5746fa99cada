package mcp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errEventTooLarge ends a stream whose server sent an event over the
// relay's limit.
var errEventTooLarge = errors.New("the MCP server sent an event over the gateway's limit")

// sseEvent is one server-sent event: its bytes as they came (passed on
// unchanged) and its data lines joined (read for tool results).
type sseEvent struct {
	raw  []byte
	data []byte
}

// readEvent reads one event: the lines up to and including the blank line
// that ends it. Comments and fields other than data are kept in raw. At
// the end of the stream it returns what it has with io.EOF; an event over
// max bytes is errEventTooLarge.
func readEvent(rd *bufio.Reader, max int) (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := readLine(rd, max-len(ev.raw))
		ev.raw = append(ev.raw, line...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(ev.raw) > 0 {
				return ev, io.EOF
			}
			return ev, err
		}
		text := bytes.TrimRight(line, "\r\n")
		if len(text) == 0 {
			return ev, nil // the blank line that ends an event
		}
		if v, ok := bytes.CutPrefix(text, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if ev.data != nil {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, v...)
		}
	}
}

// readLine reads one line with its end, at most max bytes.
func readLine(rd *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		part, err := rd.ReadSlice('\n')
		if len(line)+len(part) > max {
			return nil, fmt.Errorf("%w (%d bytes)", errEventTooLarge, max)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			line = append(line, part...)
			continue
		}
		if line == nil {
			// The common case: the line fits the buffer; copy it out
			// since the reader reuses it.
			line = append(make([]byte, 0, len(part)), part...)
		} else {
			line = append(line, part...)
		}
		return line, err
	}
}
