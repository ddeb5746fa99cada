package weaviatetest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Main runs the tests and then stops the server Shared started, if any, and
// removes its data folder.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "weaviatetest: %v\n", err)
		}
		_ = os.RemoveAll(shared.dir)
	}
	return code
}

// Shared returns the one server of this test binary, starting it on first
// use. Tests sharing it must keep their data apart (a class or tenant of
// their own) and must not stop it; a test that stops or kills Weaviate uses
// Start. Without Main, the server stops when the test binary exits. Like
// Start, it skips the test with -short.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	skipIfShort(tb)
	sharedOnce.Do(func() {
		bin, err := binary()
		if err != nil {
			sharedErr = err
			return
		}
		dir, err := os.MkdirTemp("", "weaviatetest-")
		if err != nil {
			sharedErr = fmt.Errorf("make data folder: %w", err)
			return
		}
		shared, sharedErr = newServer(bin, dir)
		if sharedErr != nil {
			_ = os.RemoveAll(dir)
		}
	})
	if sharedErr != nil {
		tb.Fatalf("weaviatetest: %v", sharedErr)
	}
	return shared
}
