package proxy

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// watchClient calls gone once the client closes or resets conn, until the
// returned stop is called. It peeks at the socket (MSG_PEEK) instead of
// reading, so the server's reading of the next request on the connection
// is untouched; a client that sends more (a pipelined request) is still
// there, and is not watched further. A connection that is not a socket
// (a test's wrapper, say) is not watched.
func watchClient(conn net.Conn, gone func()) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [1]byte
		var n int
		var peekErr error
		// Read calls the function again whenever the socket turns
		// readable, for as long as it returns false.
		err := raw.Read(func(fd uintptr) bool {
			n, _, peekErr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return !errors.Is(peekErr, syscall.EAGAIN) && !errors.Is(peekErr, syscall.EINTR)
		})
		if err != nil || stopped.Load() {
			return // stopped (the deadline below), or the server closed it
		}
		if n == 0 || peekErr != nil {
			gone() // end of stream or reset: the client has left
		}
	}()
	return func() {
		stopped.Store(true)
		// A deadline in the past wakes the watcher; then none is left for
		// the server, which is done reading this request and sets its own
		// (idle, read) before it reads the next.
		_ = conn.SetReadDeadline(time.Now())
		<-done
		_ = conn.SetReadDeadline(time.Time{})
	}
}
