package mcp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseToolCalls(t *testing.T) {
	single := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"q":"lisbon"}}}`
	if got := ParseToolCalls([]byte(single)); !reflect.DeepEqual(got, []ToolCall{{ID: "7", Name: "search", Arguments: json.RawMessage(`{"q":"lisbon"}`)}}) {
		t.Fatalf("single: %+v", got)
	}
	batch := `[
		{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"one"}},
		{"jsonrpc":"2.0","method":"notifications/initialized"},
		{"jsonrpc":"2.0","method":"tools/call","params":{"name":"no id: a notification"}},
		{"jsonrpc":"2.0","id":2,"method":"tools/list"},
		{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}},
		{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"null id"}},
		"not an object",
		{"jsonrpc":"2.0","id":"\u0062","method":"tools/call","params":{"name":"two","arguments":null}}
	]`
	got := ParseToolCalls([]byte(batch))
	want := []ToolCall{{ID: `"a"`, Name: "one"}, {ID: `"b"`, Name: "two"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batch: %+v", got)
	}
	for _, bad := range []string{"", "  ", "{", "[1,2", "null", `"x"`, `{"method":"tools/call","id":1,"params":"x"}`} {
		if got := ParseToolCalls([]byte(bad)); len(got) != 0 {
			t.Errorf("%q: %+v", bad, got)
		}
	}
}

func TestParseReplies(t *testing.T) {
	body := `[{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}},
		{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"unknown tool"}},
		{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{}},
		{"jsonrpc":"2.0","method":"notifications/progress","params":{}}]`
	got := ParseReplies([]byte(body))
	if len(got) != 2 || got[0].ID != "7" || got[0].Error != nil || got[1].ID != `"x"` || got[1].Error == nil || got[1].Error.Message != "unknown tool" {
		t.Fatalf("replies: %+v", got)
	}
	// The id 7 and the id "7" are different requests.
	calls := newPending([]ToolCall{{ID: `"7"`, Name: "s"}, {ID: "7", Name: "n"}})
	done := calls.match(got)
	if len(done) != 1 || done[0].call.Name != "n" {
		t.Fatalf("matched %+v", done)
	}
	if rest := calls.rest(); len(rest) != 1 || rest[0].Name != "s" {
		t.Fatalf("rest %+v", rest)
	}
}

func TestResultText(t *testing.T) {
	for raw, want := range map[string]string{
		`{"content":[{"type":"text","text":"a"},{"type":"image","data":"x"},{"type":"text","text":"b"}]}`: "a\nb",
		`{"content":[],"structuredContent":{"n":1}}`:                                                      `{"n":1}`,
		`{"other":true}`: `{"other":true}`,
		`not json`:       `not json`,
	} {
		if got := resultText(json.RawMessage(raw)); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}

func FuzzToolCall(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}`,
		`[{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":1,"result":{}}]`,
		`{"jsonrpc":"2.0","id":1.5e3,"error":{"code":1,"message":"m","data":[1]}}`,
		`{"id":"\ud800","method":"tools/call","params":{"name":"x"}}`,
		`[]`, `[[]]`, `{}`, `null`, ``, `[{"id":{}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		calls := ParseToolCalls(body)
		for _, c := range calls {
			if c.ID == "" || c.Name == "" || !json.Valid([]byte(c.ID)) {
				t.Fatalf("call %+v from %q", c, body)
			}
			if c.Arguments != nil && !json.Valid(c.Arguments) {
				t.Fatalf("arguments %q from %q", c.Arguments, body)
			}
		}
		replies := ParseReplies(body)
		for _, r := range replies {
			if r.ID == "" || !json.Valid([]byte(r.ID)) || (r.Result == nil && r.Error == nil) {
				t.Fatalf("reply %+v from %q", r, body)
			}
		}
		// One message reads the same alone or as a batch of one.
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
			batch := append(append([]byte("["), trimmed...), ']')
			if got := ParseToolCalls(batch); !reflect.DeepEqual(got, calls) {
				t.Fatalf("batch of one %+v, alone %+v", got, calls)
			}
		}
		// Whatever the calls and replies, matching and recording them
		// neither panics nor loses a call.
		p := newPending(calls)
		done := p.match(replies)
		rest := p.rest()
		if len(done)+len(rest) != len(calls) {
			t.Fatalf("%d answered + %d left != %d calls", len(done), len(rest), len(calls))
		}
		m := &toolCallMeta{}
		for _, c := range calls {
			if k := keep(m, "arguments", c.Arguments); k != nil && !json.Valid(k) {
				t.Fatalf("kept arguments not JSON: %q", k)
			}
		}
		for _, r := range replies {
			_ = resultText(r.Result)
		}
	})
}
