package memory

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// awkwardStrings need escaping or cleaning in JSON.
var awkwardStrings = []string{
	"", "plain", `say "hi"`, `back\slash`, "tab\tnew\nline\rcr", "\b\f", "\x00nul", "\x01\x1f\x7f",
	"line\u2028para\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80", "é€😀", "<html> & more", "/api/chat?x=1",
	"key sk-abcdefghijklmnop1234 leaked", "Bearer abcdefghijklmnop.qrs",
}

func encodeAsJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

func TestAppendJSONStringAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range awkwardStrings {
		got := appendJSONString(nil, s)
		if want := encodeAsJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString([]byte("x"), s)
		if want := append([]byte("x"), encodeAsJSON(t, s)...); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestMetadataAsMapEncoded holds the metadata written in place to what
// encoding a map, cleaned, gave: the same bytes, and the same values once
// decoded.
func TestMetadataAsMapEncoded(t *testing.T) {
	t.Parallel()
	c := testCleaner(t)
	check := func(name string, got json.RawMessage, err error, m map[string]any) {
		t.Helper()
		want, wantErr := c.refMetadataOf(m)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, the map way %v", name, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if err != nil {
			return
		}
		var gotV, wantV map[string]any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatalf("%s: %s does not decode: %v", name, got, err)
		}
		if err := json.Unmarshal(want, &wantV); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("%s: decodes to %v, want %v", name, gotV, wantV)
		}
	}
	for _, s := range awkwardStrings {
		for _, p := range []prompt{
			{chat: true, messages: 3, stream: true},
			{stream: false},
			{unparsed: true},
		} {
			got, err := c.promptMetadata(s, &p)
			m := map[string]any{"path": s}
			if p.unparsed {
				m["unparsed"] = true
			} else {
				m["stream"] = p.stream
			}
			if p.chat {
				m["messages"] = p.messages
			}
			check("prompt "+s, got, err, m)
		}
		for _, rm := range []responseMeta{
			{promptID: "0190c6b4-7b1a-7c55-9a3e-0a1b2c3d4e5f", status: 200, durationMS: 1500, finishReason: s,
				promptTokens: count{n: 8, ok: true}, completionTokens: count{n: 3, ok: true}},
			{promptID: "p", status: 404, durationMS: -3, failed: true},
			{promptID: "p", status: 200, streamError: s},
			{promptID: "p", status: 200, unparsed: true, completionTokens: count{ok: true}},
		} {
			got, err := c.responseMetadata(&rm)
			m := map[string]any{"prompt_id": rm.promptID, "status": rm.status, "duration_ms": rm.durationMS}
			if rm.finishReason != "" {
				m["finish_reason"] = rm.finishReason
			}
			if rm.promptTokens.ok {
				m["prompt_tokens"] = rm.promptTokens.n
			}
			if rm.completionTokens.ok {
				m["completion_tokens"] = rm.completionTokens.n
			}
			switch {
			case rm.failed:
				m["error"] = true
			case rm.streamError != "":
				m["error"] = rm.streamError
			}
			if rm.unparsed {
				m["unparsed"] = true
			}
			check("response "+s, got, err, m)
		}
	}
	// Too large either way, and just small enough either way.
	for _, n := range []int{maxMetadata, maxMetadata - len(`{"path":"","stream":false}`) - 1, maxMetadata - len(`{"path":"","stream":false}`)} {
		path := strings.Repeat("a", n)
		got, err := c.promptMetadata(path, &prompt{})
		check("long path", got, err, map[string]any{"path": path, "stream": false})
	}
}
