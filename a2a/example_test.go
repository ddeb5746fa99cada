package a2a_test

import (
	"encoding/json"
	"fmt"

	"github.com/attach-dev/attach-gateway/a2a"
)

// A 0.3 client streams from a 1.0 agent: each event is translated, and the
// stream ends after the event whose outcome is final.
func ExampleTranslateEvent() {
	event := json.RawMessage(`{"statusUpdate":{"taskId":"t1","contextId":"c1",
		"status":{"state":"TASK_STATE_INPUT_REQUIRED","timestamp":"2025-01-02T03:04:05Z"}}}`)
	out, err := a2a.TranslateEvent(a2a.V10, a2a.V03, event)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	o, _ := a2a.ReadOutcome(a2a.V03, a2a.MethodStream, out)
	fmt.Println(o.TaskID, o.State, o.Final)
	// Output:
	// {"contextId":"c1","final":true,"kind":"status-update","status":{"state":"input-required","timestamp":"2025-01-02T03:04:05Z"},"taskId":"t1"}
	// t1 input-required true
}

// A 1.0 client's request reaches a 0.3 agent under the 0.3 method name,
// with its params translated.
func ExampleTranslateParams() {
	req, rerr := a2a.ParseRequest([]byte(`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{
		"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]},
		"configuration":{"returnImmediately":true}}}`))
	if rerr != nil {
		panic(rerr)
	}
	m, _ := a2a.MethodOf(a2a.V10, req.Method)
	params, err := a2a.TranslateParams(a2a.V10, a2a.V03, m, req.Params)
	if err != nil {
		panic(err)
	}
	fmt.Println(a2a.WireName(a2a.V03, m))
	fmt.Println(string(params))
	// Output:
	// message/send
	// {"configuration":{"blocking":false},"message":{"kind":"message","messageId":"m1","parts":[{"kind":"text","text":"hi"}],"role":"user"}}
}
