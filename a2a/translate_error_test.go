package a2a

import (
	"encoding/json"
	"testing"
)

func TestTranslateError(t *testing.T) {
	info := `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TASK_NOT_FOUND","domain":"a2a-protocol.org"}`
	cases := []struct {
		name     string
		from, to string
		in       RPCError
		want     string // the data wanted; "" for none
	}{
		{"1.0 details become an object", V10, V03,
			RPCError{Code: CodeTaskNotFound, Message: "no", Data: json.RawMessage(`[` + info + `]`)},
			`{"details":[` + info + `]}`},
		{"object data stays", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`{"error":"boom"}`)}, `{"error":"boom"}`},
		{"string data is wrapped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`"boom"`)}, `{"value":"boom"}`},
		{"null data is dropped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`null`)}, ``},
		{"data that is not JSON is dropped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`{`)}, ``},
		{"no data stays none", V10, V03, RPCError{Code: CodeVersionNotSupported, Message: "x"}, ``},
		{"wrapped details are unwrapped", V03, V10,
			RPCError{Code: CodeTaskNotFound, Message: "no", Data: json.RawMessage(`{"details":[` + info + `]}`)}, `[` + info + `]`},
		{"0.3 object data stays", V03, V10,
			RPCError{Code: CodeTaskNotFound, Message: "no", Data: json.RawMessage(`{"error":"t1"}`)}, `{"error":"t1"}`},
		{"an A2A error gets its reason", V03, V10, RPCError{Code: CodeTaskNotFound, Message: "no"}, `[` + info + `]`},
		{"a JSON-RPC error does not", V03, V10, RPCError{Code: CodeInvalidParams, Message: "no"}, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			got := TranslateError(c.from, c.to, &in)
			if got.Code != c.in.Code || got.Message != c.in.Message {
				t.Errorf("code or message changed: %+v", got)
			}
			if c.want == "" {
				if len(got.Data) != 0 {
					t.Errorf("data %s, want none", got.Data)
				}
			} else {
				wantJSON(t, "data", got.Data, c.want)
			}
			if string(in.Data) != string(c.in.Data) {
				t.Error("input modified")
			}
		})
	}
	if TranslateError(V03, V10, nil) != nil {
		t.Error("nil error translated into something")
	}
	e := &RPCError{Code: 1, Data: json.RawMessage(`[1]`)}
	if TranslateError(V10, V10, e) != e || TranslateError("9", V03, e) != e {
		t.Error("same or unknown version must return the error as it is")
	}
}

// A 1.0 error reshaped for 0.3 and back is the original.
func TestTranslateErrorRoundTrip(t *testing.T) {
	orig := &RPCError{Code: CodeUnsupportedOperation, Message: "m", Data: json.RawMessage(`[{"@type":"x","a":1}]`)}
	back := TranslateError(V03, V10, TranslateError(V10, V03, orig))
	wantJSON(t, "round trip", back.Data, string(orig.Data))
}
