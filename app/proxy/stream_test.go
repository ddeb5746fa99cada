package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// blockingStream is an engine that sends the first part of a stream, then
// waits for the test to release it before it sends the rest: so the client
// can only see the first part early if the gateway passed it on at once.
func blockingStream(t *testing.T, contentType, first, rest string) (engine *httptest.Server, release func()) {
	released := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	s := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(first))
		w.(http.Flusher).Flush()
		select {
		case <-released:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(rest))
	}))
	// Registered after the server's Close, so it runs before it.
	t.Cleanup(release)
	return s, release
}

// readEarly runs read, which the engine can only satisfy before it is
// released, and fails the test if it does not return: a gateway that buffers
// the answer would wait for the engine, which waits for the test.
func readEarly(t *testing.T, read func() (string, error)) string {
	t.Helper()
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := read()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("read the first part while the engine holds the rest: %v", r.err)
		}
		return r.s
	case <-time.After(30 * time.Second):
		t.Fatal("the first part of the stream did not reach the client while the engine held the rest")
		return ""
	}
}

func TestStreamsNDJSONChunkByChunk(t *testing.T) {
	t.Parallel()
	first := `{"model":"llama3","message":{"role":"assistant","content":"Hel"},"done":false}` + "\n"
	rest := `{"model":"llama3","message":{"role":"assistant","content":"lo"},"done":false}` + "\n" +
		`{"model":"llama3","done":true,"done_reason":"stop"}` + "\n"
	engine, release := blockingStream(t, "application/x-ndjson", first, rest)
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	resp := post(t, gw+"/api/chat", `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`)
	checkStreamedInTwoParts(t, resp, "application/x-ndjson", first, rest, release, func(br *bufio.Reader) (string, error) {
		return br.ReadString('\n')
	})
}

func TestStreamsSSEEventByEvent(t *testing.T) {
	t.Parallel()
	first := `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]}` + "\n\n"
	rest := `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	engine, release := blockingStream(t, "text/event-stream", first, rest)
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: engine.URL + "/v1", Default: true}))

	resp := post(t, gw+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	checkStreamedInTwoParts(t, resp, "text/event-stream", first, rest, release, func(br *bufio.Reader) (string, error) {
		var event strings.Builder
		for !strings.HasSuffix(event.String(), "\n\n") {
			line, err := br.ReadString('\n')
			if err != nil {
				return "", err
			}
			event.WriteString(line)
		}
		return event.String(), nil
	})
}

// checkStreamedInTwoParts checks that resp, an answer of type contentType
// from an engine that holds everything after first until release is called,
// hands the client first (one unit, as readUnit reads it) while the engine
// still holds the rest, and then exactly rest.
func checkStreamedInTwoParts(t *testing.T, resp *http.Response, contentType, first, rest string, release func(), readUnit func(*bufio.Reader) (string, error)) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("Content-Type = %q, want %s", ct, contentType)
	}
	br := bufio.NewReader(resp.Body)
	got := readEarly(t, func() (string, error) { return readUnit(br) })
	if got != first {
		t.Fatalf("first part = %q, want %q", got, first)
	}
	release()
	all, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("read rest: %v", err)
	}
	if string(all) != rest {
		t.Fatalf("rest = %q, want %q", all, rest)
	}
}

func TestClientGoneStopsEngine(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{})
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		// Generate until the gateway hangs up, as an engine does.
		for {
			if _, err := w.Write([]byte(`{"message":{"content":"token"},"done":false}` + "\n")); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
				continue
			case <-r.Context().Done():
			}
			break
		}
		<-r.Context().Done()
		close(cancelled)
	}))
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	resp := post(t, gw+"/api/chat", `{"model":"llama3"}`)
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatalf("read first line: %v", err)
	}
	// Closing an unfinished body closes the client's connection.
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("engine request was not cancelled after the client went away")
	}
}

// A client that leaves while the engine is silent (thinking before its
// next token) is noticed from its connection, not at the next write: the
// engine's connection is closed long before the stream idle timeout.
func TestClientGoneWhileEngineIsSilent(t *testing.T) {
	t.Parallel()
	cancelled, ended := make(chan struct{}), make(chan struct{})
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(`{"message":{"content":"Hel"},"done":false}` + "\n"))
		w.(http.Flusher).Flush()
		select { // silent until the gateway hangs up
		case <-r.Context().Done():
			close(cancelled)
		case <-ended:
		}
	}))
	t.Cleanup(func() { close(ended) })
	gw := startGateway(t, Config{StreamIdleTimeout: time.Hour},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	resp := post(t, gw+"/api/chat", `{"model":"llama3"}`)
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatalf("read first line: %v", err)
	}
	resp.Body.Close() // the client leaves; nothing more is written to it
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine's connection was kept open after the client left")
	}
}

// Watching a stream's client leaves its connection usable: the next
// request on it is served.
func TestKeepAliveAfterAWatchedStream(t *testing.T) {
	t.Parallel()
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(`{"message":{"content":"Hel"},"done":false}` + "\n"))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(`{"message":{"content":"lo"},"done":true}` + "\n"))
	}))
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i := range 3 {
		var reused bool
		req, _ := http.NewRequest("POST", gw+"/api/chat", strings.NewReader(`{"model":"llama3"}`))
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(body), `"done":true`) {
			t.Fatalf("request %d: %v %q", i, err, body)
		}
		if i > 0 && !reused {
			t.Fatalf("request %d did not reuse the connection", i)
		}
	}
}

func TestStreamIdleTimeoutEndsStream(t *testing.T) {
	t.Parallel()
	first := `{"message":{"content":"Hel"},"done":false}` + "\n"
	cancelled := make(chan struct{})
	engine := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(first))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(cancelled)
	}))
	gw := startGateway(t, Config{StreamIdleTimeout: 50 * time.Millisecond},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	resp := post(t, gw+"/api/chat", `{"model":"llama3"}`)
	body := readBody(t, resp)
	lines := strings.SplitAfter(body, "\n")
	if len(lines) < 2 || lines[0] != first {
		t.Fatalf("body = %q, want the first line then an error line", body)
	}
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || !strings.Contains(e.Error, "gpu") {
		t.Fatalf("second line = %q, want an Ollama-style error naming the engine", lines[1])
	}
	<-cancelled
}
