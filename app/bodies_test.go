package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// readCounter is a listener that counts the bytes the server has read
// from all its connections, so a test knows when requests have arrived.
type readCounter struct {
	net.Listener
	read atomic.Int64
}

func (l *readCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, read: &l.read}, nil
}

type countedConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// heapInUse is the heap the process holds, after two collections: the
// first moves what sync.Pools keep to their victim caches, the second frees it.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Requests that declare a large body and never send it cost the gateway
// next to nothing: bodies are read only after authentication, so 200 of
// them hold no more than their connections' buffers, and what they held is
// given back when they close. Not parallel: it measures the process's heap.
func TestDeclaredBodiesCostNothingBeforeAuthentication(t *testing.T) {
	cfg := testConfig(t)
	cfg.EngineURL = newEngine(t).URL()
	ln := &readCounter{Listener: listenLoopback(t)}
	gw := startGatewayOn(t, cfg, ln)
	const conns = 200
	head := "POST /api/chat HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"

	before := heapInUse()
	start := ln.read.Load()
	open := make([]net.Conn, 0, conns)
	for range conns {
		c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every request's headers read", func() bool {
		return ln.read.Load()-start >= int64(conns*len(head))
	})
	during := heapInUse()
	for _, c := range open {
		c.Close()
	}
	waitFor(t, "the connections closed", func() bool {
		return gw.http.Server().GetOpenConnectionsCount() == 0
	})
	after := heapInUse()
	mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
	t.Logf("heap in use: %.1f MiB before, %.1f MiB with %d requests waiting, %.1f MiB after they closed",
		mib(before), mib(during), conns, mib(after))
	if during > before+50<<20 {
		t.Errorf("%d requests declaring 10 MB each took %.1f MiB of heap", conns, mib(during-before))
	}
	if after > before+10<<20 {
		t.Errorf("%.1f MiB of heap still held after the connections closed", mib(after-before))
	}
}

// A caller without a token sending a huge chunked body is refused before
// the body is read, and the connection is closed rather than drained.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.EngineURL = newEngine(t).URL()
	gw := startGateway(t, cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /api/chat HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("x", 64<<10))
		for range 1600 { // 100 MiB, unless the gateway hangs up first
			if _, err := io.WriteString(conn, chunk); err != nil {
				return
			}
			sent.Add(64 << 10)
		}
	})
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401 before the body", resp.StatusCode)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	wg.Wait()
	if n := sent.Load(); n >= 100<<20 {
		t.Fatalf("the gateway read all %d bytes of an unauthenticated body", n)
	}
}
