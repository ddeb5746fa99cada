package coder

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/a2a/examples/callback"
)

// post sends body to the coder as a 1.0 client would (or, with version
// "", as a 0.3 one) and decodes the JSON-RPC answer.
func post(t *testing.T, h http.Handler, version, body string, headers ...string) map[string]any {
	t.Helper()
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if version != "" {
		req.Header.Set("A2A-Version", version)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("HTTP %d for %s", w.Code, body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %s: %v", w.Body, err)
	}
	return out
}

// Malformed JSON-RPC gets the spec's error objects, with the request's id
// when it could be read and null when not, and the 1.0 ErrorInfo detail.
func TestCoderRPCErrors(t *testing.T) {
	h := NewHandler(Config{})
	cases := []struct {
		name, version, body string
		code                float64
		id                  any
		reason              string
	}{
		{"not JSON", "1.0", `{"jsonrpc":`, codeParseError, nil, "PARSE_ERROR"},
		{"not an object", "1.0", `[1,2]`, codeInvalidRequest, nil, "INVALID_REQUEST"},
		{"object id", "1.0", `{"jsonrpc":"2.0","id":{},"method":"GetTask"}`, codeInvalidRequest, nil, "INVALID_REQUEST"},
		{"no jsonrpc", "1.0", `{"id":"1","method":"GetTask"}`, codeInvalidRequest, "1", "INVALID_REQUEST"},
		{"no method", "1.0", `{"jsonrpc":"2.0","id":2}`, codeInvalidRequest, 2.0, "INVALID_REQUEST"},
		{"0.3 request", "", `{"jsonrpc":"2.0","id":"1","method":"message/send","params":{}}`, codeVersionNotSupported, "1", "VERSION_NOT_SUPPORTED"},
		{"unknown method", "1.0", `{"jsonrpc":"2.0","id":3,"method":"ListTasks","params":{}}`, codeMethodNotFound, 3.0, "METHOD_NOT_FOUND"},
		{"params not an object", "1.0", `{"jsonrpc":"2.0","id":4,"method":"SendMessage","params":[]}`, codeInvalidParams, 4.0, "INVALID_PARAMS"},
		{"message not an object", "1.0", `{"jsonrpc":"2.0","id":5,"method":"SendMessage","params":{"message":"hi"}}`, codeInvalidParams, 5.0, "INVALID_PARAMS"},
		{"no messageId", "1.0", `{"jsonrpc":"2.0","id":6,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"x"}]}}}`, codeInvalidParams, 6.0, "INVALID_PARAMS"},
		{"0.3 role", "1.0", `{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{"messageId":"m","role":"user","parts":[{"text":"x"}]}}}`, codeInvalidParams, 7.0, "INVALID_PARAMS"},
		{"empty part", "1.0", `{"jsonrpc":"2.0","id":8,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{}]}}}`, codeInvalidParams, 8.0, "INVALID_PARAMS"},
		{"get without id", "1.0", `{"jsonrpc":"2.0","id":9,"method":"GetTask","params":{}}`, codeInvalidParams, 9.0, "INVALID_PARAMS"},
		{"unknown task", "1.0", `{"jsonrpc":"2.0","id":10,"method":"GetTask","params":{"id":"nope"}}`, codeTaskNotFound, 10.0, "TASK_NOT_FOUND"},
		{"cancel unknown task", "1.0", `{"jsonrpc":"2.0","id":11,"method":"CancelTask","params":{"id":"nope"}}`, codeTaskNotFound, 11.0, "TASK_NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := post(t, h, c.version, c.body)
			e, _ := out["error"].(map[string]any)
			if out["jsonrpc"] != "2.0" || e == nil || e["code"] != c.code || out["id"] != c.id || out["result"] != nil {
				t.Fatalf("got %v; want error %v with id %v", out, c.code, c.id)
			}
			data, _ := e["data"].([]any)
			info, _ := func() (map[string]any, bool) {
				if len(data) != 1 {
					return nil, false
				}
				m, ok := data[0].(map[string]any)
				return m, ok
			}()
			if info["reason"] != c.reason || info["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" {
				t.Errorf("error data %v; want ErrorInfo %s", e["data"], c.reason)
			}
		})
	}
}

// gatewayStandIn answers the two gateway routes the coder calls, checking
// the delegation token, and records the chat it was sent.
func gatewayStandIn(t *testing.T, chat *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer delegated" {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, 401)
			return
		}
		switch {
		case r.Method == "GET" && r.URL.Path == "/t/team/mem/events/ev1":
			io.WriteString(w, `{"id":"ev1","kind":"note","content":"Plan for: a clock"}`)
		case r.Method == "POST" && r.URL.Path == "/t/team/api/chat":
			b, _ := io.ReadAll(r.Body)
			*chat = string(b)
			io.WriteString(w, `{"message":{"role":"assistant","content":"package main"},"done":true}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A mem_id, as a data part or as JSON text, is read from memory and the
// plan goes to the engine; the task completes with the engine's answer and
// can be read back, but not canceled.
func TestCoderSendGetCancel(t *testing.T) {
	var chat string
	gw := gatewayStandIn(t, &chat)
	h := NewHandler(Config{Gateway: callback.Gateway{URL: gw.URL, Team: "team"}, Model: "m1"})
	for _, parts := range []string{`[{"data":{"mem_id":"ev1"}}]`, `[{"text":"{\"mem_id\": \"ev1\"}"}]`} {
		chat = ""
		out := post(t, h, "1.0", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":`+parts+`}}}`,
			callback.HeaderToken, "delegated")
		var res struct {
			Result sendResult
		}
		b, _ := json.Marshal(out)
		json.Unmarshal(b, &res)
		tk := res.Result.Task
		if tk.Status.State != stateCompleted || len(tk.Artifacts) != 1 || tk.Artifacts[0].Parts[0].Text != "package main" {
			t.Fatalf("%s: %s", parts, b)
		}
		if !strings.Contains(chat, "Plan for: a clock") || !strings.Contains(chat, `"model":"m1"`) {
			t.Errorf("engine was sent %s", chat)
		}
		got := post(t, h, "1.0", `{"jsonrpc":"2.0","id":2,"method":"GetTask","params":{"id":"`+tk.ID+`","historyLength":1}}`)
		if r, _ := got["result"].(map[string]any); r == nil || r["id"] != tk.ID || len(r["history"].([]any)) != 1 {
			t.Errorf("get: %v", got)
		}
		canceled := post(t, h, "1.0", `{"jsonrpc":"2.0","id":3,"method":"CancelTask","params":{"id":"`+tk.ID+`"}}`)
		if e, _ := canceled["error"].(map[string]any); e == nil || e["code"] != float64(codeTaskNotCancelable) {
			t.Errorf("cancel: %v", canceled)
		}
	}
}

// Without a delegation token, or with a plan it cannot read, the task
// fails with the reason: the coder is meant to be called through the
// gateway.
func TestCoderFailsWithReason(t *testing.T) {
	var chat string
	gw := gatewayStandIn(t, &chat)
	h := NewHandler(Config{Gateway: callback.Gateway{URL: gw.URL, Team: "team"}})
	for _, c := range []struct{ token, parts, reason string }{
		{"", `[{"text":"a plan"}]`, "no delegation token"},
		{"delegated", `[{"data":{"mem_id":"missing"}}]`, "read the plan"},
		{"wrong", `[{"data":{"mem_id":"ev1"}}]`, "HTTP 401"},
	} {
		out := post(t, h, "1.0", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":`+c.parts+`}}}`,
			callback.HeaderToken, c.token)
		b, _ := json.Marshal(out)
		if !strings.Contains(string(b), stateFailed) || !strings.Contains(string(b), c.reason) {
			t.Errorf("token %q parts %s: %s; want failed with %q", c.token, c.parts, b, c.reason)
		}
	}
	if chat != "" {
		t.Errorf("the engine was asked: %s", chat)
	}
}

func TestCoderCard(t *testing.T) {
	h := NewHandler(Config{URL: "http://127.0.0.1:9"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/agent-card.json", nil))
	var card struct {
		SupportedInterfaces []struct{ URL, ProtocolBinding, ProtocolVersion string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &card); err != nil || len(card.SupportedInterfaces) != 1 {
		t.Fatalf("card %s: %v", w.Body, err)
	}
	if in := card.SupportedInterfaces[0]; in.URL != "http://127.0.0.1:9" || in.ProtocolBinding != "JSONRPC" || in.ProtocolVersion != "1.0" {
		t.Errorf("interface %+v", in)
	}
}
