package mcp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAllEvents(t testing.TB, in string, max int) ([]sseEvent, error) {
	t.Helper()
	rd := bufio.NewReaderSize(strings.NewReader(in), 16)
	var out []sseEvent
	for {
		ev, err := readEvent(rd, max)
		if len(ev.raw) > 0 {
			out = append(out, ev)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

func TestReadEvent(t *testing.T) {
	in := "event: message\r\nid: 1\r\ndata: {\"a\":\r\ndata:1}\r\n\r\n: a comment\n\ndata: " + strings.Repeat("x", 40) + "\n\ndata: tail"
	evs, err := readAllEvents(t, in, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events: %q", len(evs), evs)
	}
	if string(evs[0].data) != "{\"a\":\n1}" || string(evs[1].data) != "" || string(evs[2].data) != strings.Repeat("x", 40) || evs[3].data != nil {
		// An event cut off by the end of the stream is passed on but never
		// read: the SSE spec drops an event without its blank line.
		t.Fatalf("data: %q %q %q %q", evs[0].data, evs[1].data, evs[2].data, evs[3].data)
	}
	var joined []byte
	for _, ev := range evs {
		joined = append(joined, ev.raw...)
	}
	if string(joined) != in {
		t.Fatalf("passed on %q\nwant %q", joined, in)
	}
	if _, err := readAllEvents(t, "data: "+strings.Repeat("y", 100)+"\n\n", 50); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("long event: %v", err)
	}
}

func FuzzReadEvent(f *testing.F) {
	for _, s := range []string{"data: x\n\n", "event: a\r\ndata: 1\r\n\r\n", ": c\n\n\n\ndata", "data:\ndata:\n\n", ""} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		evs, err := readAllEvents(t, in, max)
		var joined bytes.Buffer
		for _, ev := range evs {
			if len(ev.raw) > max {
				t.Fatalf("event of %d bytes over %d", len(ev.raw), max)
			}
			joined.Write(ev.raw)
		}
		// What is passed on is the stream byte for byte, up to where an
		// event went over the limit.
		if err == nil && joined.String() != in {
			t.Fatalf("passed on %q, want %q", joined.String(), in)
		}
		if err != nil && !strings.HasPrefix(in, joined.String()) {
			t.Fatalf("passed on %q, not a prefix of %q", joined.String(), in)
		}
	})
}
