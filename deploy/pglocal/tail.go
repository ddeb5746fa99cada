package pglocal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// tailWriter forwards the server's output to the logger line by line and
// keeps the last lines, so a failed start can say why.
type tailWriter struct {
	log     *slog.Logger
	max     int
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func newTailWriter(log *slog.Logger, max int) *tailWriter {
	return &tailWriter{log: log, max: max}
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(w.partial[:i], "\r"))
		w.partial = w.partial[i+1:]
		w.emit(line)
	}
	return len(p), nil
}

func (w *tailWriter) emit(line string) {
	if line == "" {
		return
	}
	level := slog.LevelDebug
	for _, bad := range []string{"PANIC:", "FATAL:", "ERROR:", "WARNING:"} {
		if strings.Contains(line, bad) {
			level = slog.LevelWarn
			break
		}
	}
	// Readiness polling while the server starts is expected to be refused.
	// A statement the gateway itself cancelled (a client that left, work
	// stopped at shutdown) is its own doing, not the server's trouble; a
	// statement timeout still warns.
	if strings.Contains(line, "the database system is starting up") ||
		strings.Contains(line, "canceling statement due to user request") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, "postgres", "line", line)
	w.lines = append(w.lines, line)
	if len(w.lines) > w.max {
		w.lines = w.lines[len(w.lines)-w.max:]
	}
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}
