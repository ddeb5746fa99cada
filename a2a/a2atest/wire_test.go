package a2atest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
)

var update = flag.Bool("update", false, "record testdata/wire again")

// Only these headers say something about the protocol; the rest (Host,
// User-Agent, Date, ...) differ from run to run and machine to machine.
var (
	keptRequestHeaders  = []string{"Content-Type", "Accept", "A2a-Version", "A2a-Extensions", "Authorization"}
	keptResponseHeaders = []string{"Content-Type", "Cache-Control", "A2a-Version", "A2a-Extensions"}
)

// labelHeader names the label of a request that brings its own; the
// recorder does not keep it.
const labelHeader = "X-Wire-Label"

// recorder is a reverse proxy in front of an agent that keeps every
// exchange under the label that was current when its request arrived. It
// rewrites the agent's URL in the card to its own, so SDK clients that read
// the card keep talking through it, as they would through the gateway.
type recorder struct {
	t        *testing.T
	upstream string
	prefix   string // path the recorder serves the agent under, as a gateway route
	srv      *httptest.Server

	mu      sync.Mutex
	label   string
	started map[string]int // requests that arrived, by label
	// answering: requests whose answer has begun to come, by label
	answering map[string]int
	got       map[string][]Exchange
}

func newRecorder(t *testing.T, upstream string) *recorder {
	return newPrefixedRecorder(t, upstream, "")
}

// newPrefixedRecorder serves the agent at upstream below prefix (like
// "/t/team/a2a/agent"), as the gateway serves agents under their routes.
func newPrefixedRecorder(t *testing.T, upstream, prefix string) *recorder {
	r := &recorder{t: t, upstream: upstream, prefix: prefix, started: map[string]int{}, answering: map[string]int{}, got: map[string][]Exchange{}}
	// Started only once r.srv is set: serve reads it.
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the agent's base URL through the recorder.
func (r *recorder) URL() string { return r.srv.URL + r.prefix }

// next makes label the name under which the following requests are kept.
func (r *recorder) next(label string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.label = label
}

// count is how many requests labelled label have arrived.
func (r *recorder) count(label string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[label]
}

// waitStarted waits until a request labelled label has arrived.
func (r *recorder) waitStarted(label string) {
	r.t.Helper()
	r.waitFor(label, r.started, "arrived")
}

// waitAnswering waits until the answer to a request labelled label has
// begun: for a 1.0 subscription, its first event, sent once it is attached.
func (r *recorder) waitAnswering(label string) {
	r.t.Helper()
	r.waitFor(label, r.answering, "was answered")
}

func (r *recorder) waitFor(label string, counts map[string]int, what string) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		n := counts[label]
		r.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s request %s", label, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	path, ok := strings.CutPrefix(req.URL.Path, r.prefix)
	if !ok {
		http.NotFound(w, req)
		return
	}
	if path == "" {
		path = "/"
	}
	body, _ := io.ReadAll(req.Body)
	var rpc struct{ Method string }
	_ = json.Unmarshal(body, &rpc)
	r.mu.Lock()
	label := r.label
	switch {
	case req.Method == http.MethodGet:
		label = "card"
	case rpc.Method == "tasks/resubscribe" || rpc.Method == "SubscribeToTask":
		// It runs alongside the cancel that ends it, whatever label is current.
		label = "resubscribe"
	case req.Header.Get(labelHeader) != "":
		// A step of RunJS10Steps, which runs several in one go.
		label = req.Header.Get(labelHeader)
	}
	r.started[label]++
	r.mu.Unlock()

	var ex Exchange
	ex.Request.Method = req.Method
	ex.Request.Path = req.URL.Path
	ex.Request.Headers = pick(req.Header, keptRequestHeaders)
	if a := ex.Request.Headers["Authorization"]; a != "" {
		ex.Request.Headers["Authorization"] = "Bearer <token>"
	}
	if len(body) > 0 {
		ex.Request.Body = json.RawMessage(body)
	}

	up, err := http.NewRequestWithContext(req.Context(), req.Method, r.upstream+path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	up.Header = req.Header.Clone()
	up.Header.Del("Accept-Encoding") // keep bodies readable
	resp, err := http.DefaultTransport.RoundTrip(up)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	ex.Response.Status = resp.StatusCode
	ex.Response.Headers = pick(resp.Header, keptResponseHeaders)
	for k, v := range resp.Header {
		if k != "Content-Length" && k != "Etag" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)

	// Stream the answer on as it comes, flushing, so SSE events are not held.
	var kept bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if kept.Len() == 0 {
				r.mu.Lock()
				r.answering[label]++
				r.mu.Unlock()
			}
			kept.Write(buf[:n])
			if label != "card" {
				_, _ = w.Write(buf[:n])
				w.(http.Flusher).Flush()
			}
		}
		if err != nil {
			break
		}
	}
	if label == "card" {
		_, _ = w.Write(bytes.ReplaceAll(kept.Bytes(), []byte(r.upstream), []byte(r.URL())))
	}

	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		ex.Response.SSE = kept.String()
		ex.Response.Events = sseData(kept.Bytes())
	} else if json.Valid(kept.Bytes()) && kept.Len() > 0 {
		ex.Response.Body = json.RawMessage(bytes.TrimSpace(kept.Bytes()))
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if label == "card" {
		r.got[label] = []Exchange{ex} // every client reads it; one is enough
		return
	}
	r.got[label] = append(r.got[label], ex)
}

func pick(h http.Header, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if v := h.Values(n); len(v) > 0 {
			out[n] = strings.Join(v, ", ")
		}
	}
	return out
}

// sseData is the data of each event of an SSE body.
func sseData(body []byte) []json.RawMessage {
	var events []json.RawMessage
	var data []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	flush := func() {
		if len(data) > 0 {
			events = append(events, json.RawMessage(strings.Join(data, "\n")))
			data = nil
		}
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	flush()
	return events
}

// postRaw sends a hand-made JSON-RPC request through the recorder, for the
// error answers no SDK client would provoke.
func postRaw(t *testing.T, url, version, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if version != "" {
		req.Header.Set("A2A-Version", version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestWire drives each agent with the client of its own version through a
// recording proxy, and checks that the exchanges still have the outline of
// the samples in testdata/wire (method, result kind or error code, event
// kinds, final state). With -update it writes the samples instead.
func TestWire(t *testing.T) {
	t.Run("v03", func(t *testing.T) {
		agent := StartAgent03(t)
		rec := newRecorder(t, agent.URL)
		c := Client03(t, rec.srv.URL, "secret")
		ctx := testContext(t)

		rec.next("send-task")
		echo := sendTask(t, c, userMessage("echo hi"))
		rec.next("send-message")
		if _, err := c.SendMessage(ctx, userMessage("message hello")); err != nil {
			t.Fatal(err)
		}
		rec.next("send-failed")
		sendTask(t, c, userMessage("fail"))
		rec.next("stream")
		for _, err := range c.SendStreamingMessage(ctx, userMessage("slow 3")) {
			if err != nil {
				t.Fatal(err)
			}
		}
		rec.next("get")
		if _, err := c.GetTask(ctx, &a2a.TaskQueryParams{ID: echo.ID}); err != nil {
			t.Fatal(err)
		}
		rec.next("send-nonblocking")
		wait := sendTask(t, c, nonBlocking("wait"))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range c.ResubscribeToTask(ctx, &a2a.TaskIDParams{ID: wait.ID}) {
			}
		}()
		rec.waitStarted("resubscribe")
		time.Sleep(200 * time.Millisecond) // let the agent attach the subscriber
		rec.next("cancel")
		if _, err := c.CancelTask(ctx, &a2a.TaskIDParams{ID: wait.ID}); err != nil {
			t.Fatal(err)
		}
		<-done
		rec.next("error-task-not-found")
		if _, err := c.GetTask(ctx, &a2a.TaskQueryParams{ID: "no-such-task"}); err == nil {
			t.Error("get of an unknown task: no error")
		}
		rec.next("error-not-cancelable")
		if _, err := c.CancelTask(ctx, &a2a.TaskIDParams{ID: echo.ID}); err == nil {
			t.Error("cancel of a completed task: no error")
		}
		rec.next("error-method-not-found")
		postRaw(t, rec.srv.URL, "1.0", `{"jsonrpc":"2.0","id":"1","method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`)
		rec.next("error-invalid-params")
		postRaw(t, rec.srv.URL, "", `{"jsonrpc":"2.0","id":"2","method":"message/send","params":{"message":"not an object"}}`)
		checkWire(t, "v03", rec)
	})

	t.Run("v10", func(t *testing.T) {
		agent := StartAgent10(t)
		rec := newRecorder(t, agent.URL)
		step := func(label string, op JS10) JS10 {
			op.Headers = map[string]string{labelHeader: label}
			return op
		}
		// One node process for all that can run one after the other.
		res := RunJS10Steps(t, rec.srv.URL, "secret",
			step("send-task", JS10{Op: "send", Text: "echo hi"}),
			step("get", JS10{Op: "get", TaskID: "$task"}),
			step("send-message", JS10{Op: "send", Text: "message hello"}),
			step("send-failed", JS10{Op: "send", Text: "fail"}),
			step("stream", JS10{Op: "stream", Text: "slow 3"}),
			step("list", JS10{Op: "list"}),
			step("error-task-not-found", JS10{Op: "get", TaskID: "no-such-task"}),
			step("error-not-cancelable", JS10{Op: "cancel", TaskID: "$task"}), // the finished slow task
			step("send-nonblocking", JS10{Op: "send-nonblocking", Text: "wait"}),
		)
		for i, r := range res {
			if (i == 6 || i == 7) != (r.Error != nil) {
				t.Errorf("step %d: error %+v", i, r.Error)
			}
		}
		wait := decode[struct{ Task wireTask }](t, res[8].Result).Task

		// The subscription runs while the cancel that ends it is sent.
		done := make(chan struct{})
		go func() {
			defer close(done)
			RunJS10(t, rec.srv.URL, "secret", JS10{Op: "subscribe", TaskID: wait.ID})
		}()
		rec.waitAnswering("resubscribe")
		rec.next("cancel")
		RunJS10(t, rec.srv.URL, "secret", JS10{Op: "cancel", TaskID: wait.ID})
		<-done
		rec.next("error-method-not-found")
		postRaw(t, rec.srv.URL, "", `{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"echo hi"}]}}}`)
		rec.next("error-invalid-params")
		postRaw(t, rec.srv.URL, "1.0", `{"jsonrpc":"2.0","id":"2","method":"SendMessage","params":{"message":"not an object"}}`)
		checkWire(t, "v10", rec)
	})
}

// checkWire writes the exchanges to testdata/wire/<version> with -update,
// and otherwise compares their outlines with the samples there.
func checkWire(t *testing.T, version string, rec *recorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	dir := filepath.Join("testdata", "wire", version)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for label, exs := range rec.got {
		if len(exs) != 1 {
			t.Errorf("%s: %d exchanges; want 1", label, len(exs))
			continue
		}
		file := filepath.Join(dir, label+".json")
		if *update {
			b, err := json.MarshalIndent(exs[0], "", "  ")
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: no sample (run with -update): %v", label, err)
			continue
		}
		var want Exchange
		if err := json.Unmarshal(b, &want); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if got, w := outline(t, exs[0]), outline(t, want); got != w {
			t.Errorf("%s: the %s SDKs now answer\n  %s\nwhere the sample has\n  %s\n(run with -update if that is expected)", label, version, got, w)
		}
	}
}

// outline is what must not change between runs: the JSON-RPC method, the
// HTTP status, whether a result or an error (and its code) came back, the
// result's kind, and for a stream the kinds of its events and its last
// state. Ids, timestamps and the running state of a non-blocking answer
// vary, so they are left out.
func outline(t *testing.T, ex Exchange) string {
	t.Helper()
	var req struct{ Method string }
	_ = json.Unmarshal(ex.Request.Body, &req)
	s := fmt.Sprintf("%s %s %s -> %d", ex.Request.Method, ex.Request.Path, req.Method, ex.Response.Status)
	if ex.Response.Events != nil {
		var kinds []string
		last := ""
		for _, ev := range ex.Response.Events {
			k, st := resultOutline(ev)
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
			last = st
		}
		slices.Sort(kinds)
		return fmt.Sprintf("%s sse %v last %s", s, kinds, last)
	}
	k, _ := resultOutline(ex.Response.Body)
	return s + " " + k
}

// resultOutline reads a JSON-RPC response: "error <code>" or the kind of its
// result (0.3: the kind field; 1.0: the name of the oneof member, or
// "object" for a plain Task or list), and the task state it carries.
func resultOutline(body json.RawMessage) (kind, state string) {
	var resp struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "unparsable", ""
	}
	if resp.Error != nil {
		return fmt.Sprintf("error %d", resp.Error.Code), ""
	}
	stateOf := func(raw json.RawMessage) string {
		var v struct {
			Status struct{ State string } `json:"status"`
		}
		_ = json.Unmarshal(raw, &v)
		return v.Status.State
	}
	if k, ok := resp.Result["kind"]; ok {
		var s string
		_ = json.Unmarshal(k, &s)
		return s, stateOf(mustJSON(resp.Result))
	}
	for _, oneof := range []string{"task", "message", "statusUpdate", "artifactUpdate"} {
		if v, ok := resp.Result[oneof]; ok && len(resp.Result) == 1 {
			return oneof, stateOf(v)
		}
	}
	return "object", stateOf(mustJSON(resp.Result))
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// TestWireSample reads every sample back through WireSample.
func TestWireSample(t *testing.T) {
	for _, version := range []string{"v03", "v10"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "wire", version, "*.json"))
		if len(files) < 12 {
			t.Errorf("%s: %d samples", version, len(files))
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			ex := WireSample(t, version, name)
			if ex.Response.Status != http.StatusOK || (ex.Response.Body == nil && ex.Response.Events == nil) {
				t.Errorf("%s/%s: status %d, no answer", version, name, ex.Response.Status)
			}
			if name == "card" {
				continue
			}
			var req struct{ JSONRPC, Method string }
			if err := json.Unmarshal(ex.Request.Body, &req); err != nil || req.JSONRPC != "2.0" || req.Method == "" {
				t.Errorf("%s/%s: request body %s", version, name, ex.Request.Body)
			}
		}
	}
}
