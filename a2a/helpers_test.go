package a2a

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// sameJSON reports whether two JSON texts hold the same value, whatever
// the member order and spacing.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if err := da.Decode(&va); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := db.Decode(&vb); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func wantJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if !sameJSON(t, got, []byte(want)) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// Shared fixtures: the same content in each version's shape.
const (
	msg03 = `{"kind":"message","messageId":"m1","role":"user","contextId":"c1","taskId":"t1",
		"parts":[{"kind":"text","text":"hi <b>&</b>","metadata":{"k":1}}],
		"metadata":{"x":{"y":[1,2.50,"z"]}},"extensions":["urn:e"],"referenceTaskIds":["t0"],"futureField":true}`
	msg10 = `{"messageId":"m1","role":"ROLE_USER","contextId":"c1","taskId":"t1",
		"parts":[{"text":"hi <b>&</b>","metadata":{"k":1}}],
		"metadata":{"x":{"y":[1,2.50,"z"]}},"extensions":["urn:e"],"referenceTaskIds":["t0"],"futureField":true}`

	agentMsg03 = `{"kind":"message","messageId":"m2","role":"agent","parts":[{"kind":"text","text":"need more"}]}`
	agentMsg10 = `{"messageId":"m2","role":"ROLE_AGENT","parts":[{"text":"need more"}]}`

	task03 = `{"kind":"task","id":"t1","contextId":"c1",
		"status":{"state":"input-required","message":` + agentMsg03 + `,"timestamp":"2025-01-02T03:04:05.123Z"},
		"history":[` + msg03 + `],
		"artifacts":[{"artifactId":"a1","name":"out","description":"d","extensions":["urn:e"],"metadata":{"m":"v"},
			"parts":[{"kind":"file","file":{"uri":"https://files.example/a.png","mimeType":"image/png","name":"a.png"}},
			         {"kind":"file","file":{"bytes":"aGVsbG8="}},
			         {"kind":"data","data":{"a":{"b":null}}}]}],
		"metadata":{"owner":"u1"}}`
	task10 = `{"id":"t1","contextId":"c1",
		"status":{"state":"TASK_STATE_INPUT_REQUIRED","message":` + agentMsg10 + `,"timestamp":"2025-01-02T03:04:05.123Z"},
		"history":[` + msg10 + `],
		"artifacts":[{"artifactId":"a1","name":"out","description":"d","extensions":["urn:e"],"metadata":{"m":"v"},
			"parts":[{"url":"https://files.example/a.png","mediaType":"image/png","filename":"a.png"},
			         {"raw":"aGVsbG8="},
			         {"data":{"a":{"b":null}}}]}],
		"metadata":{"owner":"u1"}}`

	pushCfg03  = `{"id":"p1","url":"https://hook.example/cb","token":"tok","authentication":{"schemes":["Bearer"],"credentials":"cred"}}`
	taskPush03 = `{"taskId":"t1","pushNotificationConfig":` + pushCfg03 + `}`
	taskPush10 = `{"taskId":"t1","id":"p1","url":"https://hook.example/cb","token":"tok","authentication":{"scheme":"Bearer","credentials":"cred"}}`
)
