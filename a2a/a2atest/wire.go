package a2atest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Exchange is one HTTP exchange recorded in testdata/wire: a request an
// SDK client sent and what the SDK server of the same version answered.
// Bodies are JSON; an SSE answer has Events (each event's data) and SSE
// (the raw stream) instead of Body.
type Exchange struct {
	Request struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body,omitempty"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body,omitempty"`
		Events  []json.RawMessage `json:"events,omitempty"`
		SSE     string            `json:"sse,omitempty"`
	} `json:"response"`
}

// WireSample reads the recorded exchange testdata/wire/<version>/<name>.json,
// version being "v03" or "v10" and name e.g. "send-task" or "stream" (see
// testdata/wire/README.md for the list).
func WireSample(t testing.TB, version, name string) Exchange {
	t.Helper()
	file := filepath.Join(filepath.Dir(jsDir()), "testdata", "wire", version, name+".json")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("a2atest: %v", err)
	}
	var ex Exchange
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatalf("a2atest: %s: %v", file, err)
	}
	return ex
}
