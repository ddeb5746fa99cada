package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

func TestLoggerBuffersInfoAndFlushesWarnings(t *testing.T) {
	t.Parallel()
	var out testkit.Buffer
	log, flush := NewLogger(&out, slog.LevelInfo, time.Hour)
	log.Info("request", "status", 200)
	if out.String() != "" {
		t.Fatal("info line written at once; it should wait for the next flush")
	}
	log.With("part", "proxy").Warn("engine down")
	got := out.String()
	if !strings.Contains(got, `"msg":"request"`) || !strings.Contains(got, `"msg":"engine down"`) || !strings.Contains(got, `"part":"proxy"`) {
		t.Fatalf("a warning must flush everything before it: %q", got)
	}
	log.Info("last words")
	flush()
	if !strings.Contains(out.String(), "last words") {
		t.Fatal("flush on exit lost a line")
	}
	flush() // twice is harmless
}

func TestLoggerFlushesPeriodically(t *testing.T) {
	t.Parallel()
	var out testkit.Buffer
	log, flush := NewLogger(&out, slog.LevelInfo, 10*time.Millisecond)
	defer flush()
	log.Info("tick")
	waitFor(t, "periodic flush", func() bool { return strings.Contains(out.String(), "tick") })
}
