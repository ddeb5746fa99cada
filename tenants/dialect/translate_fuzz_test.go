package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var translatedPaths = []string{"/api/chat", "/api/generate", "/api/embed", "/api/embeddings"}

// FuzzTranslate: any body either fails with a FieldError or becomes a JSON
// object for an OpenAI route.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi","images":["` + pngB64 + `"]}],"options":{"num_predict":3,"stop":["x"]},"format":"json"}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","content":"1"}],"tools":[{}]}`,
		`{"model":"m","prompt":"p","system":"s","raw":true,"suffix":"x","format":{"type":"object"}}`,
		`{"model":"m","input":["a","b"],"dimensions":3}`,
		`{"prompt":"a"}`, `{}`, `[]`, `null`, `{"messages":null}`, `{"format":""}`,
	} {
		for i := range translatedPaths {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r, _ := Lookup(translatedPaths[int(route)%len(translatedPaths)])
		tr, err := Translate(r, body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("Translate(%s, %q) failed with %v, not a FieldError", r.Path, body, err)
			}
			return
		}
		var out map[string]any
		if json.Unmarshal(tr.Body, &out) != nil {
			t.Fatalf("Translate(%s, %q) wrote %s, not a JSON object", r.Path, body, tr.Body)
		}
		if e, ok := Lookup(tr.Engine.Path); !ok || e.Dialect != "openai" {
			t.Fatalf("Translate(%s) sends to %s", r.Path, tr.Engine.Path)
		}
		if tr.Stream && out["stream"] != true {
			t.Fatalf("a streaming client's request %s does not stream", tr.Body)
		}
	})
}

// FuzzStream: however the engine's bytes are cut, the client gets the same
// lines; each is a JSON object, only the last is marked done or an error,
// and a streaming client gets at most one such last line.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		sse("Hel", "lo"),
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"text\":\"x\"}]}\r\n\r\ndata: {\"error\":\"boom\"}\r\n\r\n",
		": c\n\nevent: e\ndata: {\"choices\":\ndata: [{\"delta\":{\"content\":\"y\"}}]}\n\n",
		`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`,
		`{"error":{"message":"no"}}`,
		"data: [DONE]", "", "data: {}\n\n", "data: {\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}]}\n\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2), uint8(0))
		f.Add([]byte(s), uint16(1), uint8(7))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16, mode uint8) {
		paths := []string{`/api/chat`, `/api/generate`}
		r, _ := Lookup(paths[mode&1])
		stream := `true`
		if mode&2 != 0 {
			stream = `false`
		}
		tr, err := Translate(r, []byte(`{"model":"m","prompt":"p","stream":`+stream+`}`))
		if err != nil {
			t.Fatal(err)
		}
		status := 200
		if mode&4 != 0 {
			status = 500
		}
		isSSE := mode&8 == 0
		now := func() time.Time { return stamp }
		at := int(cut) % (len(body) + 1)

		one := tr.NewStream(status, isSSE, now)
		whole := one.End(one.Write(nil, body))
		two := tr.NewStream(status, isSSE, now)
		split := two.End(two.Write(two.Write(nil, body[:at]), body[at:]))
		if !bytes.Equal(whole, split) {
			t.Fatalf("cut at %d changes the answer:\n%s\n%s", at, whole, split)
		}
		if !tr.Stream {
			if !json.Valid(whole) {
				t.Fatalf("a whole answer that is not JSON: %q", whole)
			}
			return
		}
		lines := bytes.Split(bytes.TrimSuffix(whole, []byte("\n")), []byte("\n"))
		for i, l := range lines {
			var v struct {
				Done  bool    `json:"done"`
				Error *string `json:"error"`
			}
			if err := json.Unmarshal(l, &v); err != nil {
				t.Fatalf("line %d %q is not a JSON object: %v", i, l, err)
			}
			if last := i == len(lines)-1; (v.Done || v.Error != nil) != last {
				t.Fatalf("line %d of %d done=%v error=%v:\n%s", i, len(lines), v.Done, v.Error, whole)
			}
		}
	})
}

// FuzzAnswer: a whole answer of any status is either refused or becomes
// a JSON object.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","created":1,"choices":[{"message":{"role":"assistant","content":"x","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"data":[{"index":0,"embedding":[1,2]}],"usage":{"prompt_tokens":1}}`,
		`{"error":{"message":"x"}}`, `{"error":"x"}`, `<html>`, `{"choices":[{"text":"t"}]}`, `{"data":[{"index":5}]}`,
	} {
		for i := range translatedPaths {
			f.Add(uint8(i), 200, []byte(s))
		}
		f.Add(uint8(0), 503, []byte(s))
	}
	f.Fuzz(func(t *testing.T, route uint8, status int, body []byte) {
		r, _ := Lookup(translatedPaths[int(route)%len(translatedPaths)])
		tr, err := Translate(r, []byte(`{"model":"m","input":"x","stream":false}`))
		if err != nil {
			t.Fatal(err)
		}
		out, err := tr.Answer(status, body, stamp)
		if err != nil {
			return
		}
		var v map[string]any
		if json.Unmarshal(out, &v) != nil {
			t.Fatalf("Answer(%d, %q) = %s, not a JSON object", status, body, out)
		}
	})
}
