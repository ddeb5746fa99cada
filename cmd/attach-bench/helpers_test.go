package main

import (
	"os"
	"strconv"
	"testing"
)

// testUpstream starts the stand-in engine for one test.
func testUpstream(t *testing.T) *upstream {
	t.Helper()
	up, err := startUpstream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Close() })
	return up
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func itoa(n int) string { return strconv.Itoa(n) }
