package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// leaveWithin bounds how long an engine may wait, once the client has gone,
// for its connection to close: far below the upstream timeout (an hour in
// these tests), far above what noticing a closed socket takes.
const leaveWithin = 2 * time.Second

// holdingEngine answers a chat only when the test releases it, and reports on
// closed each request whose connection closed while it held the answer.
func holdingEngine(t *testing.T) (url string, closed <-chan struct{}, release func()) {
	t.Helper()
	gone := make(chan struct{}, 8)
	released := make(chan struct{})
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if v := r.Header.Values(headerWatch); len(v) > 0 {
			t.Errorf("the engine got the gateway's own %s: %q", headerWatch, v)
		}
		select {
		case <-r.Context().Done(): // net/http: the connection closed
			gone <- struct{}{}
			return
		case <-released:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"message":{"role":"assistant","content":"hello"},"done":true}`)
	}))
	var done bool
	release = func() {
		if !done {
			done = true
			close(released)
		}
	}
	// Registered after the server's Close, so it runs before it.
	t.Cleanup(release)
	return engine.URL, gone, release
}

// rawChat is one non-streamed chat request, as written on the wire.
func rawChat(host string) string {
	body := `{"model":"llama3","stream":false,"messages":[{"role":"user","content":"hi"}]}`
	return fmt.Sprintf("POST /api/chat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body)
}

func dialGateway(t *testing.T, gw string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatalf("dial gateway: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A client that sends a non-streamed chat and leaves while the engine is
// still working on it: the engine's connection is closed then, not at the
// upstream timeout, the request ends, and no exchange is recorded.
func TestClientGoneBeforeAnswerClosesEngine(t *testing.T) {
	t.Parallel()
	engine, closed, _ := holdingEngine(t)
	tap := newRecordingTap("team-1")
	obs := &recordingObserver{}
	gw, stop := serveGateway(t, Config{ResponseHeaderTimeout: time.Hour, Tap: tap, Observer: obs},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine, Default: true}))

	conn := dialGateway(t, gw)
	if _, err := io.WriteString(conn, rawChat("gw")); err != nil {
		t.Fatalf("send: %v", err)
	}
	// Give the request time to reach the engine, so the client leaves while
	// the gateway waits for the answer rather than before it asked.
	time.Sleep(100 * time.Millisecond)
	conn.Close()

	select {
	case <-closed:
	case <-time.After(leaveWithin):
		t.Fatalf("the engine's connection was still open %s after the client left", leaveWithin)
	}
	// Shutdown waits for every request in flight: it returns in time only
	// if the departed client's request has ended.
	if err := stop(); err != nil {
		t.Fatalf("the request of the departed client did not end: %v", err)
	}
	if _, got := tap.calls(); len(got) != 0 {
		t.Fatalf("a departed client's request was recorded as an exchange: %+v", got)
	}
	if got, want := obs.last(), "gpu /api/chat "+http.StatusText(statusClientClosed); got != want {
		t.Fatalf("upstream call counted as %q, want %q (a departure)", got, want)
	}
}

// A client that stays gets its answer, however long the engine takes, and
// its connection serves the next request: watching it closes nothing.
func TestClientThatStaysGetsItsAnswer(t *testing.T) {
	t.Parallel()
	engine, closed, release := holdingEngine(t)
	gw := startGateway(t, Config{ResponseHeaderTimeout: time.Hour},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine, Default: true}))

	conn := dialGateway(t, gw)
	br := bufio.NewReader(conn)
	// Two requests in one write: the second is on the client's socket
	// while the gateway waits for the first one's answer.
	if _, err := io.WriteString(conn, rawChat("gw")+rawChat("gw")); err != nil {
		t.Fatalf("send: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	release()
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "hello") {
			t.Fatalf("answer %d: status %d, %q, %v", i, resp.StatusCode, body, err)
		}
	}
	// The same connection, idle in between, is still served.
	if _, err := io.WriteString(conn, rawChat("gw")); err != nil {
		t.Fatalf("send the third: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("third answer on the kept-alive connection: %v", err)
	}
	resp.Body.Close()
	select {
	case <-closed:
		t.Fatal("an engine connection was closed while its client was still there")
	default:
	}
}

// The tag is read from the header block only: a body that spells the header
// line neither tags the request nor loses that line.
func TestWatchTagComesFromHeaderBlock(t *testing.T) {
	t.Parallel()
	head := "POST /api/chat HTTP/1.1\r\nHost: e\r\n" + headerWatch + ": 42\r\nContent-Length: 27\r\n\r\n"
	tag, from, to, ok := takeWatchTag([]byte(head + "{}"))
	if !ok || tag != 42 {
		t.Fatalf("tag = %d, %v; want 42", tag, ok)
	}
	if got := head[:from] + head[to:]; got != "POST /api/chat HTTP/1.1\r\nHost: e\r\nContent-Length: 27\r\n\r\n" {
		t.Fatalf("written without the tag: %q", got)
	}
	body := "POST /api/chat HTTP/1.1\r\nHost: e\r\n\r\nx\r\n" + headerWatch + ": 42\r\n"
	if _, _, _, ok := takeWatchTag([]byte(body)); ok {
		t.Fatal("a tag was read from the body")
	}
}
