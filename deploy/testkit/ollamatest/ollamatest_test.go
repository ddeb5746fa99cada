package ollamatest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return resp
}

// The real server answers the tiny model's sentence in both dialects,
// whole and streamed, to prompts of any content.
func TestEngineAnswersTheSentence(t *testing.T) {
	e := Start(t)
	if e.Model != "tiny" || !strings.HasPrefix(e.URL, "http://127.0.0.1:") {
		t.Fatalf("engine %q at %q", e.Model, e.URL)
	}

	t.Run("api/chat", func(t *testing.T) {
		for _, prompt := range []string{"hello", "What is the capital of France?", "ünïcödé ✓ \n twice"} {
			body, _ := json.Marshal(map[string]any{
				"model":    e.Model,
				"messages": []map[string]string{{"role": "user", "content": prompt}},
				"stream":   false,
			})
			resp := post(t, e.URL+"/api/chat", string(body))
			var out struct {
				Message struct{ Role, Content string }
				Done    bool
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if out.Message.Content != Answer || out.Message.Role != "assistant" || !out.Done {
				t.Errorf("prompt %q: answer %+v, want %q", prompt, out, Answer)
			}
		}
	})

	t.Run("api/chat stream", func(t *testing.T) {
		resp := post(t, e.URL+"/api/chat", `{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}`)
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		var said strings.Builder
		lines, done := 0, false
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var chunk struct {
				Message struct{ Content string }
				Done    bool
			}
			if err := json.Unmarshal(sc.Bytes(), &chunk); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			said.WriteString(chunk.Message.Content)
			lines++
			done = chunk.Done
		}
		if said.String() != Answer || !done || lines < 3 {
			t.Errorf("stream said %q in %d lines (done %v), want %q in several", said.String(), lines, done, Answer)
		}
	})

	t.Run("api/generate", func(t *testing.T) {
		resp := post(t, e.URL+"/api/generate", `{"model":"tiny","prompt":"Why is the sky blue?","stream":false}`)
		var out struct{ Response string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if out.Response != Answer {
			t.Errorf("generate: %q, want %q", out.Response, Answer)
		}
	})

	t.Run("v1/chat/completions stream", func(t *testing.T) {
		resp := post(t, e.URL+"/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"hello"}]}`)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type %q", ct)
		}
		said, events, sawDone := readSSE(t, resp.Body)
		if said != Answer || !sawDone || events < 3 {
			t.Errorf("SSE said %q in %d events (done %v), want %q", said, events, sawDone, Answer)
		}
	})

	t.Run("v1/models", func(t *testing.T) {
		resp, err := http.Get(e.URL + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), `"tiny:latest"`) {
			t.Errorf("/v1/models: %s", b)
		}
	})
}

// readSSE reads an OpenAI chat completion stream: the content of its
// deltas, the number of data events, and whether it ended with [DONE].
func readSSE(t *testing.T, r io.Reader) (said string, events int, done bool) {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		for _, c := range chunk.Choices {
			b.WriteString(c.Delta.Content)
		}
		events++
	}
	return b.String(), events, done
}
