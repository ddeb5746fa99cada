package a2a

import (
	"encoding/json"
	"testing"
)

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		code   int    // 0: no error
		id     string // the id kept, even on error
		method string
		params string
	}{
		{"full", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{}}}`, 0, `1`, "message/send", `{"message":{}}`},
		{"string id", ` {"jsonrpc":"2.0","id":"a-1","method":"GetTask","params":{"id":"t"}} `, 0, `"a-1"`, "GetTask", `{"id":"t"}`},
		{"no id (a notification)", `{"jsonrpc":"2.0","method":"GetExtendedAgentCard"}`, 0, ``, "GetExtendedAgentCard", ``},
		{"id is compacted", `{"jsonrpc":"2.0","id": 7 ,"method":"m"}`, 0, `7`, "m", ``},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"m"}`, 0, `1.5`, "m", ``},
		{"unknown members are ignored", `{"jsonrpc":"2.0","id":1,"method":"m","extra":true}`, 0, `1`, "m", ``},
		{"empty params object", `{"jsonrpc":"2.0","id":1,"method":"m","params":{}}`, 0, `1`, "m", `{}`},

		{"not JSON", `{"jsonrpc":"2.0",`, CodeParseError, ``, "", ``},
		{"empty body", ``, CodeParseError, ``, "", ``},
		{"two values", `{"jsonrpc":"2.0","method":"m"}{}`, CodeParseError, ``, "", ``},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"m"}]`, CodeInvalidRequest, ``, "", ``},
		{"empty batch", `[]`, CodeInvalidRequest, ``, "", ``},
		{"scalar", `"hello"`, CodeInvalidRequest, ``, "", ``},
		{"null", `null`, CodeInvalidRequest, ``, "", ``},
		{"no jsonrpc", `{"id":1,"method":"m"}`, CodeInvalidRequest, `1`, "", ``},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":1,"method":"m"}`, CodeInvalidRequest, `1`, "", ``},
		{"jsonrpc a number", `{"jsonrpc":2.0,"id":1,"method":"m"}`, CodeInvalidRequest, `1`, "", ``},
		{"no method", `{"jsonrpc":"2.0","id":1}`, CodeInvalidRequest, `1`, "", ``},
		{"empty method", `{"jsonrpc":"2.0","id":1,"method":""}`, CodeInvalidRequest, `1`, "", ``},
		{"method a number", `{"jsonrpc":"2.0","id":1,"method":5}`, CodeInvalidRequest, `1`, "", ``},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"m"}`, CodeInvalidRequest, ``, "", ``},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"m"}`, CodeInvalidRequest, ``, "", ``},
		{"bool id", `{"jsonrpc":"2.0","id":true,"method":"m"}`, CodeInvalidRequest, ``, "", ``},
		{"params by position", `{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}`, CodeInvalidParams, `1`, "m", ``},
		{"params null", `{"jsonrpc":"2.0","id":1,"method":"m","params":null}`, CodeInvalidParams, `1`, "m", ``},
		{"params a string", `{"jsonrpc":"2.0","id":1,"method":"m","params":"x"}`, CodeInvalidParams, `1`, "m", ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, rerr := ParseRequest([]byte(c.body))
			if c.code == 0 {
				if rerr != nil {
					t.Fatalf("error %v", rerr)
				}
				if req.JSONRPC != "2.0" {
					t.Errorf("jsonrpc %q", req.JSONRPC)
				}
			} else if rerr == nil || rerr.Code != c.code {
				t.Fatalf("error %v, want code %d", rerr, c.code)
			}
			if string(req.ID) != c.id || req.Method != c.method || string(req.Params) != c.params {
				t.Errorf("got id %s method %q params %s", req.ID, req.Method, req.Params)
			}
		})
	}
}

func TestRPCErrorAndResponseJSON(t *testing.T) {
	e := &RPCError{Code: CodeTaskNotFound, Message: "task not found"}
	if e.Error() != "jsonrpc error -32001: task not found" {
		t.Errorf("Error() = %q", e.Error())
	}
	raw, err := json.Marshal(Response{JSONRPC: "2.0", ID: json.RawMessage(`1`), Error: e})
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "error response", raw, `{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"task not found"}}`)
	raw, _ = json.Marshal(Response{JSONRPC: "2.0", ID: json.RawMessage(`"x"`), Result: json.RawMessage(`null`)})
	wantJSON(t, "null result", raw, `{"jsonrpc":"2.0","id":"x","result":null}`)
}

func TestErrorCodes(t *testing.T) {
	for code, want := range map[int]int{
		CodeParseError: -32700, CodeInvalidRequest: -32600, CodeMethodNotFound: -32601,
		CodeInvalidParams: -32602, CodeInternal: -32603, CodeTaskNotFound: -32001,
		CodeTaskNotCancelable: -32002, CodePushNotSupported: -32003, CodeUnsupportedOperation: -32004,
		CodeContentTypeNotSupported: -32005, CodeInvalidAgentResponse: -32006,
		CodeExtendedCardNotConfigured: -32007, CodeExtensionSupportRequired: -32008, CodeVersionNotSupported: -32009,
	} {
		if code != want {
			t.Errorf("code %d, want %d", code, want)
		}
	}
}

// FuzzParseRequest: no input panics, and an accepted request, written out
// again, is accepted as the same request.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{}}}`,
		`{"jsonrpc":"2.0","id":"x","method":"GetTask"}`,
		`[{"jsonrpc":"2.0"}]`, `{"jsonrpc":"2.0","id":null,"method":"m"}`, `{`, ``, `"s"`,
		`{"jsonrpc":"2.0","id":1e400,"method":"m","params":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, rerr := ParseRequest(body)
		if rerr != nil {
			switch rerr.Code {
			case CodeParseError, CodeInvalidRequest, CodeInvalidParams:
			default:
				t.Fatalf("unexpected code %d", rerr.Code)
			}
			return
		}
		if req.JSONRPC != "2.0" || req.Method == "" {
			t.Fatalf("accepted %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal %+v: %v", req, err)
		}
		req2, rerr := ParseRequest(again)
		if rerr != nil {
			t.Fatalf("re-parse %s: %v", again, rerr)
		}
		// json.Marshal may escape differently (e.g. "&" as "\u0026"), so
		// ids and params are compared as values.
		if req2.Method != req.Method || (len(req2.ID) == 0) != (len(req.ID) == 0) || (len(req2.Params) == 0) != (len(req.Params) == 0) {
			t.Fatalf("re-parse changed %+v into %+v", req, req2)
		}
		if len(req.ID) > 0 && !sameJSON(t, req2.ID, req.ID) {
			t.Fatalf("re-parse changed id %s into %s", req.ID, req2.ID)
		}
		if len(req.Params) > 0 && !sameJSON(t, req2.Params, req.Params) {
			t.Fatalf("re-parse changed params %s into %s", req.Params, req2.Params)
		}
	})
}
