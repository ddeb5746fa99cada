package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// NewLogger returns the gateway's JSON logger writing to w. Lines are
// buffered and written every flushEvery, or at once for warnings and
// errors, so a busy gateway does not pay one write system call per access
// log line (on a small machine that is a fifth of a proxied request's cost).
// Call the returned function before exiting to write what is buffered.
func NewLogger(w io.Writer, level slog.Level, flushEvery time.Duration) (*slog.Logger, func()) {
	bw := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{}), stopped: make(chan struct{})}
	go bw.loop(flushEvery)
	h := &flushOnWarn{Handler: slog.NewJSONHandler(bw, &slog.HandlerOptions{Level: level}), w: bw}
	return slog.New(h), bw.close
}

// bufferedWriter is an io.Writer safe for concurrent use that batches writes.
type bufferedWriter struct {
	mu      sync.Mutex
	w       *bufio.Writer
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedWriter) flush() {
	b.mu.Lock()
	_ = b.w.Flush() // nowhere to report a failing log sink
	b.mu.Unlock()
}

func (b *bufferedWriter) loop(every time.Duration) {
	defer close(b.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.done:
			b.flush()
			return
		}
	}
}

func (b *bufferedWriter) close() {
	b.once.Do(func() {
		close(b.done)
		<-b.stopped
	})
}

// flushOnWarn writes warnings and errors out immediately: they are the lines
// an operator needs even if the process dies right after.
type flushOnWarn struct {
	slog.Handler
	w *bufferedWriter
}

func (h *flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.flush()
	}
	return err
}

func (h *flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushOnWarn{Handler: h.Handler.WithAttrs(attrs), w: h.w}
}

func (h *flushOnWarn) WithGroup(name string) slog.Handler {
	return &flushOnWarn{Handler: h.Handler.WithGroup(name), w: h.w}
}
