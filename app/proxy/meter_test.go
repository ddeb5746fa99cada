package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// recordingMeter keeps what the proxy measures.
type recordingMeter struct{ got chan attach.Usage }

func newRecordingMeter() *recordingMeter { return &recordingMeter{got: make(chan attach.Usage, 16)} }

func (m *recordingMeter) Measure(u attach.Usage) { m.got <- u }

func (m *recordingMeter) wait(t *testing.T) attach.Usage {
	t.Helper()
	select {
	case u := <-m.got:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("nothing was measured")
		return attach.Usage{}
	}
}

// openAIStreamEngine streams events, adding the usage-only chunk when the
// request asks for it, and remembers the bodies it was sent.
type openAIStreamEngine struct {
	mu     sync.Mutex
	bodies []string
}

const streamEvents = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"}}]}\n\n" +
	": keep-alive\n\n" +
	"data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\n"

const usageOnlyEvent = "data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\n"

func (e *openAIStreamEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	var req struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(b, &req)
	w.Header().Set("Content-Type", "text/event-stream")
	for _, part := range strings.SplitAfter(streamEvents, "\n\n") {
		_, _ = io.WriteString(w, part)
		w.(http.Flusher).Flush()
	}
	if req.StreamOptions.IncludeUsage {
		// Split across two writes, as a slow network would.
		_, _ = io.WriteString(w, usageOnlyEvent[:20])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, usageOnlyEvent[20:])
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func (e *openAIStreamEngine) lastBody() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bodies[len(e.bodies)-1]
}

// The gateway asks an OpenAI stream for its usage and counts it; a client
// that did not ask gets the engine's stream byte for byte without the
// usage chunk, one that asked gets it.
func TestMeterAsksOpenAIStreamsForUsage(t *testing.T) {
	eng := &openAIStreamEngine{}
	up := startEngine(t, eng)
	meter := newRecordingMeter()
	url := startGateway(t, Config{Meter: meter}, teamOf(attach.Engine{Name: "oa", Dialect: attach.DialectOpenAI, BaseURL: up.URL, Default: true}))

	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	got := readBody(t, post(t, url+"/v1/chat/completions", body))
	if got != streamEvents+"data: [DONE]\n\n" {
		t.Errorf("the client got\n%q\nwant the engine's stream without the usage chunk", got)
	}
	if sent := eng.lastBody(); !strings.Contains(sent, `"include_usage":true`) || !strings.HasSuffix(sent, body[1:]) {
		t.Errorf("the engine was sent %s", sent)
	}
	u := meter.wait(t)
	if u.PromptTokens != 12 || u.CompletionTokens != 3 || u.Estimated || u.Status != 200 || u.TeamID != "team-1" ||
		u.User != "alice" || u.Engine != "oa" || u.Model != "m" || u.Path != "/v1/chat/completions" || u.Time.IsZero() || u.Latency <= 0 {
		t.Errorf("measured %+v", u)
	}

	asked := `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`
	got = readBody(t, post(t, url+"/v1/chat/completions", asked))
	if got != streamEvents+usageOnlyEvent+"data: [DONE]\n\n" {
		t.Errorf("a client that asked for usage got\n%q", got)
	}
	if eng.lastBody() != asked {
		t.Errorf("a request that asked already was changed: %s", eng.lastBody())
	}
	if u := meter.wait(t); u.PromptTokens != 12 || u.CompletionTokens != 3 {
		t.Errorf("measured %+v", u)
	}
}

// Without a meter the proxy leaves requests as they are.
func TestNoMeterNoChange(t *testing.T) {
	eng := &openAIStreamEngine{}
	up := startEngine(t, eng)
	url := startGateway(t, Config{}, teamOf(attach.Engine{Name: "oa", Dialect: attach.DialectOpenAI, BaseURL: up.URL, Default: true}))
	body := `{"model":"m","stream":true,"messages":[]}`
	readBody(t, post(t, url+"/v1/chat/completions", body))
	if eng.lastBody() != body {
		t.Errorf("the engine was sent %s", eng.lastBody())
	}
}

// An engine that counts nothing: the exchange is estimated from the text,
// about four characters a token, and says so.
func TestMeterEstimatesWhatTheEngineDidNotCount(t *testing.T) {
	up := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Stream bool }
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"twelve chars"}}]}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, `{"message":{"content":"four"}}`+"\n")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, `{"message":{"content":"five!"},"done":true}`+"\n")
	}))
	meter := newRecordingMeter()
	url := startGateway(t, Config{Meter: meter}, teamOf(attach.Engine{Name: "e", Dialect: attach.DialectOllama, BaseURL: up.URL, Default: true}))

	readBody(t, post(t, url+"/v1/chat/completions", `{"model":"m","messages":[{"role":"system","content":"12345678"},{"role":"user","content":"1234"}]}`))
	if u := meter.wait(t); !u.Estimated || u.PromptTokens != 3 || u.CompletionTokens != 3 {
		t.Errorf("whole: measured %d+%d estimated %v, want 3+3 estimated", u.PromptTokens, u.CompletionTokens, u.Estimated)
	}
	readBody(t, post(t, url+"/api/chat", `{"model":"m","stream":true,"messages":[{"role":"user","content":"12345"}]}`))
	if u := meter.wait(t); !u.Estimated || u.PromptTokens != 2 || u.CompletionTokens != 3 {
		t.Errorf("stream: measured %d+%d estimated %v, want 2+3 estimated", u.PromptTokens, u.CompletionTokens, u.Estimated)
	}
}

// An exchange the engine did not answer is measured with the status the
// client got and no tokens; routes that generate nothing are not measured.
func TestMeterFailedAndUnmeteredExchanges(t *testing.T) {
	meter := newRecordingMeter()
	url := startGateway(t, Config{Meter: meter}, teamOf(attach.Engine{Name: "down", Dialect: attach.DialectOllama, BaseURL: closedPort(t), Default: true}))
	resp := post(t, url+"/api/chat", `{"model":"m","messages":[{"role":"user","content":"hello there"}]}`)
	readBody(t, resp)
	u := meter.wait(t)
	if u.Status != resp.StatusCode || u.Status != 502 || u.Tokens() != 0 || u.Estimated {
		t.Errorf("measured %+v for a %d", u, resp.StatusCode)
	}
	readBody(t, post(t, url+"/api/show", `{"model":"m"}`))
	readBody(t, post(t, url+"/api/embed", `{"model":"m","input":"x"}`))
	// Measures arrive in order: the next is the embedding's, not the show's.
	if u := meter.wait(t); u.Path != "/api/embed" {
		t.Errorf("measured %s, want /api/embed only", u.Path)
	}
}

// An answer too large to copy whole (embeddings of a large batch) is
// passed on as it comes; its counts are read from its end.
func TestMeterReadsTheCountsAtTheEndOfALargeAnswer(t *testing.T) {
	var vectors strings.Builder
	for i := 0; vectors.Len() < 3<<20; i++ {
		if i > 0 {
			vectors.WriteByte(',')
		}
		vectors.WriteString(`{"object":"embedding","index":` + strconv.Itoa(i) + `,"embedding":[0.0123456789,-0.987654321,0.5]}`)
	}
	answer := `{"object":"list","data":[` + vectors.String() + `],"model":"m","usage":{"prompt_tokens":4321,"total_tokens":4321}}`
	up := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = io.WriteString(w, answer)
	}))
	meter := newRecordingMeter()
	url := startGateway(t, Config{Meter: meter}, teamOf(attach.Engine{Name: "oa", Dialect: attach.DialectOpenAI, BaseURL: up.URL, Default: true}))
	if got := readBody(t, post(t, url+"/v1/embeddings", `{"model":"m","input":["a","b"]}`)); got != answer {
		t.Fatalf("the client got %d bytes of the %d", len(got), len(answer))
	}
	if u := meter.wait(t); u.PromptTokens != 4321 || u.CompletionTokens != 0 || u.Estimated {
		t.Errorf("measured %+v", u)
	}
}

// A client that leaves in the middle of a stream is counted for what it
// was sent: the engine never reported counts, so they are estimated from
// the prompt and the text that went out.
func TestMeterCountsWhatALeavingClientWasSent(t *testing.T) {
	sent := make(chan struct{})
	up := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, `{"message":{"role":"assistant","content":"12345678"},"done":false}`+"\n")
		w.(http.Flusher).Flush()
		close(sent)
		<-r.Context().Done() // the gateway closes the connection once the client left
	}))
	meter := newRecordingMeter()
	gw := startGateway(t, Config{Meter: meter, ResponseHeaderTimeout: time.Hour, StreamIdleTimeout: time.Hour},
		teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: up.URL, Default: true}))
	conn := dialGateway(t, gw)
	body := `{"model":"m","messages":[{"role":"user","content":"1234"}]}`
	fmt.Fprintf(conn, "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read the stream: %v", err)
		}
		if strings.Contains(line, "12345678") {
			break
		}
	}
	<-sent
	conn.Close()
	u := meter.wait(t)
	if !u.Estimated || u.PromptTokens != 1 || u.CompletionTokens != 2 || u.Status != 200 {
		t.Errorf("measured %d+%d estimated %v status %d; want 1+2 estimated, 200", u.PromptTokens, u.CompletionTokens, u.Estimated, u.Status)
	}
}
