package app

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// TestMemoryKeepsAStoppedAnswerAsSent: a client that stops a streamed
// answer midway (the chat's Stop) leaves in memory exactly the part it was
// sent, marked stopped; an answer read to its end is whole and not marked.
// Both dialects.
func TestMemoryKeepsAStoppedAnswerAsSent(t *testing.T) {
	t.Parallel()
	eng := newMemEngine(t)
	gw := startGateway(t, testConfig(t))
	tm := newMemTeam(t, gw, "stops", eng.URL(), "")

	seen := map[string]bool{}
	for _, tc := range []struct{ path, body string }{
		{"/api/chat", `{"model":"tiny","messages":[{"role":"user","content":"stop me, ollama"}]}`},
		{"/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"stop me, openai"}]}`},
	} {
		release := eng.holdStreams()
		req, _ := http.NewRequest("POST", tm.url+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+tm.adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.path, resp.StatusCode)
		}
		if first := readLine(t, bufio.NewReader(resp.Body)); !strings.Contains(first, engineWords[0]) {
			t.Fatalf("%s began with %q", tc.path, first)
		}
		// Stop: the connection closes with the answer half read. Then the
		// engine would go on, if the gateway still listened.
		resp.Body.Close()
		var got attach.Event
		pollUntil(t, 20*time.Second, "the stopped answer in memory", func() bool {
			for _, e := range listEvents(t, tm.url, tm.adminKey, "kind=response") {
				if !seen[e.ID] {
					seen[e.ID], got = true, e
					return true
				}
			}
			return false
		})
		release()
		if got.Content != engineWords[0] {
			t.Errorf("%s: memory holds %q, the client was sent %q", tc.path, got.Content, engineWords[0])
		}
		if !metaBool(t, got, "stopped") {
			t.Errorf("%s: the stopped answer is not marked stopped: %s", tc.path, got.Metadata)
		}
	}

	// Read to the end: whole, not marked.
	sendChat(t, tm.url, tm.adminKey, "do not stop me")
	pollUntil(t, 20*time.Second, "the whole answer in memory", func() bool {
		list := listEvents(t, tm.url, tm.adminKey, "kind=response")
		return len(list) == 3
	})
	whole := listEvents(t, tm.url, tm.adminKey, "kind=response")[0]
	if whole.Content != engineAnswer || metaBool(t, whole, "stopped") {
		t.Errorf("a whole answer is stored as %q, metadata %s", whole.Content, whole.Metadata)
	}
}

// metaBool reads a true/false field of an event's metadata.
func metaBool(t *testing.T, e attach.Event, key string) bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		t.Fatalf("event %s metadata %q: %v", e.ID, e.Metadata, err)
	}
	b, _ := m[key].(bool)
	return b
}
