package a2a

import (
	"encoding/json"
	"testing"
)

func TestTranslateError(t *testing.T) {
	info := func(reason, metadata string) string {
		s := `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"` + reason + `","domain":"a2a-protocol.org"`
		if metadata != "" {
			s += `,"metadata":` + metadata
		}
		return s + "}"
	}
	cases := []struct {
		name     string
		from, to string
		in       RPCError
		want     string // the data wanted; "" for none
	}{
		{"1.0 ErrorInfo becomes the message under error", V10, V03,
			RPCError{Code: CodeTaskNotFound, Message: "Task not found: t9", Data: json.RawMessage(`[` + info("TASK_NOT_FOUND", "") + `]`)},
			`{"error":"Task not found: t9"}`},
		{"ErrorInfo metadata become members", V10, V03,
			RPCError{Code: CodeTaskNotFound, Message: "no", Data: json.RawMessage(`[` + info("TASK_NOT_FOUND", `{"error":"detail","taskId":"t9"}`) + `]`)},
			`{"error":"detail","taskId":"t9"}`},
		{"other details are kept", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`[{"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"d"}]`)},
			`{"error":"x","details":[{"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"d"}]}`},
		{"object data stays", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`{"error":"boom"}`)}, `{"error":"boom"}`},
		{"string data is wrapped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`"boom"`)}, `{"value":"boom"}`},
		{"null data is dropped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`null`)}, ``},
		{"data that is not JSON is dropped", V10, V03,
			RPCError{Code: CodeInternal, Message: "x", Data: json.RawMessage(`{`)}, ``},
		{"no data stays none", V10, V03, RPCError{Code: CodeVersionNotSupported, Message: "x"}, ``},

		{"0.3 data becomes ErrorInfo metadata", V03, V10,
			RPCError{Code: CodeTaskNotFound, Message: "task not found", Data: json.RawMessage(`{"error":"failed to get task: task not found"}`)},
			`[` + info("TASK_NOT_FOUND", `{"error":"failed to get task: task not found"}`) + `]`},
		{"values that are not strings are written as JSON", V03, V10,
			RPCError{Code: CodeInvalidParams, Message: "bad", Data: json.RawMessage(`{"field":"message","at":[1,2],"n":3}`)},
			`[` + info("INVALID_PARAMS", `{"field":"message","at":"[1,2]","n":"3"}`) + `]`},
		{"0.3 details follow the ErrorInfo", V03, V10,
			RPCError{Code: CodeTaskNotCancelable, Message: "no", Data: json.RawMessage(`{"details":[{"@type":"x"}]}`)},
			`[` + info("TASK_NOT_CANCELABLE", "") + `,{"@type":"x"}]`},
		{"an A2A error without data gets its reason", V03, V10, RPCError{Code: CodeTaskNotFound, Message: "no"}, `[` + info("TASK_NOT_FOUND", "") + `]`},
		{"1.0 codes have reasons too", V03, V10, RPCError{Code: CodeVersionNotSupported, Message: "no"}, `[` + info("VERSION_NOT_SUPPORTED", "") + `]`},
		{"an error without reason keeps its data", V03, V10,
			RPCError{Code: CodeMethodNotFound, Message: "no", Data: json.RawMessage(`{"error":"method not found"}`)}, `{"error":"method not found"}`},
		{"an error without reason or data", V03, V10, RPCError{Code: CodeInternal, Message: "no"}, ``},
		{"0.3 data that is not an object is kept", V03, V10,
			RPCError{Code: CodeTaskNotFound, Message: "no", Data: json.RawMessage(`"t9"`)}, `"t9"`},
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

// 0.3 string data survives a trip through 1.0 unchanged.
func TestTranslateErrorRoundTrip(t *testing.T) {
	orig := &RPCError{Code: CodeUnsupportedOperation, Message: "m", Data: json.RawMessage(`{"error":"why","where":"here"}`)}
	back := TranslateError(V10, V03, TranslateError(V03, V10, orig))
	wantJSON(t, "round trip", back.Data, string(orig.Data))
}
