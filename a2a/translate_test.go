package a2a

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// what a case translates.
const (
	asParams = "params"
	asResult = "result"
	asEvent  = "event"
)

func translate(as, from, to string, m Method, in []byte) (json.RawMessage, error) {
	switch as {
	case asParams:
		return TranslateParams(from, to, m, in)
	case asResult:
		return TranslateResult(from, to, m, in)
	case asEvent:
		return TranslateEvent(from, to, in)
	}
	panic("unknown case kind " + as)
}

// pairCases hold the same content in both versions, translating exactly
// into each other, so each is checked both ways and round trip.
var pairCases = []struct {
	name     string
	as       string
	m        Method
	v03, v10 string
}{
	{"send params, full configuration", asParams, MethodSend,
		`{"message":` + msg03 + `,"metadata":{"trace":"abc"},
		  "configuration":{"acceptedOutputModes":["text/plain"],"blocking":false,"historyLength":5,"pushNotificationConfig":` + pushCfg03 + `}}`,
		`{"message":` + msg10 + `,"metadata":{"trace":"abc"},
		  "configuration":{"acceptedOutputModes":["text/plain"],"returnImmediately":true,"historyLength":5,
		    "taskPushNotificationConfig":{"id":"p1","url":"https://hook.example/cb","token":"tok","authentication":{"scheme":"Bearer","credentials":"cred"}}}}`},
	{"send params, blocking", asParams, MethodSend,
		`{"message":` + msg03 + `,"configuration":{"blocking":true}}`,
		`{"message":` + msg10 + `,"configuration":{}}`},
	{"stream params", asParams, MethodStream,
		`{"message":` + agentMsg03 + `}`,
		`{"message":` + agentMsg10 + `}`},
	{"get task params", asParams, MethodGetTask, `{"id":"t1","historyLength":3}`, `{"id":"t1","historyLength":3}`},
	{"cancel params", asParams, MethodCancelTask, `{"id":"t1","metadata":{"why":"user"}}`, `{"id":"t1","metadata":{"why":"user"}}`},
	{"subscribe params", asParams, MethodSubscribe, `{"id":"t1"}`, `{"id":"t1"}`},
	{"push set params", asParams, MethodPushSet, taskPush03, taskPush10},
	{"push get params", asParams, MethodPushGet, `{"id":"t1","pushNotificationConfigId":"p1"}`, `{"taskId":"t1","id":"p1"}`},
	{"push get params, no config id", asParams, MethodPushGet, `{"id":"t1"}`, `{"taskId":"t1"}`},
	{"push list params", asParams, MethodPushList, `{"id":"t1"}`, `{"taskId":"t1"}`},
	{"push delete params", asParams, MethodPushDelete, `{"id":"t1","pushNotificationConfigId":"p1"}`, `{"taskId":"t1","id":"p1"}`},
	{"extended card params", asParams, MethodExtendedCard, `{}`, `{}`},

	{"send result, task", asResult, MethodSend, task03, `{"task":` + task10 + `}`},
	{"send result, message", asResult, MethodSend, agentMsg03, `{"message":` + agentMsg10 + `}`},
	{"get task result", asResult, MethodGetTask, task03, task10},
	{"cancel result", asResult, MethodCancelTask,
		`{"kind":"task","id":"t1","contextId":"c1","status":{"state":"canceled"}}`,
		`{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_CANCELED"}}`},
	{"push set result", asResult, MethodPushSet, taskPush03, taskPush10},
	{"push get result", asResult, MethodPushGet, taskPush03, taskPush10},
	{"push list result", asResult, MethodPushList, `[` + taskPush03 + `]`, `{"configs":[` + taskPush10 + `]}`},
	{"push list result, empty", asResult, MethodPushList, `[]`, `{}`},
	{"push delete result", asResult, MethodPushDelete, `null`, `null`},
	{"stream result is an event", asResult, MethodStream, agentMsg03, `{"message":` + agentMsg10 + `}`},
	{"subscribe result is an event", asResult, MethodSubscribe,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working"},"final":false}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}`},

	{"task event", asEvent, "", task03, `{"task":` + task10 + `}`},
	{"message event", asEvent, "", msg03, `{"message":` + msg10 + `}`},
	{"status update, working", asEvent, "",
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working","timestamp":"2025-01-02T03:04:05Z"},"final":false,"metadata":{"seq":7}}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING","timestamp":"2025-01-02T03:04:05Z"},"metadata":{"seq":7}}}`},
	{"status update, completed with message", asEvent, "",
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"completed","message":` + agentMsg03 + `},"final":true}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED","message":` + agentMsg10 + `}}}`},
	{"status update, auth required", asEvent, "",
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"auth-required"},"final":true}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_AUTH_REQUIRED"}}}`},
	{"artifact update", asEvent, "",
		`{"kind":"artifact-update","taskId":"t1","contextId":"c1","append":true,"lastChunk":false,
		  "artifact":{"artifactId":"a1","parts":[{"kind":"text","text":"chunk"}]}}`,
		`{"artifactUpdate":{"taskId":"t1","contextId":"c1","append":true,"lastChunk":false,
		  "artifact":{"artifactId":"a1","parts":[{"text":"chunk"}]}}}`},
	{"data part with a non-object value", asEvent, "",
		`{"kind":"artifact-update","taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","parts":[
		  {"kind":"data","data":{"value":[1,2]},"metadata":{"data_part_compat":true}},
		  {"kind":"data","data":{"value":"s"},"metadata":{"data_part_compat":true,"m":1}},
		  {"kind":"data","data":{"value":null},"metadata":{"data_part_compat":true}}]}}`,
		`{"artifactUpdate":{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","parts":[
		  {"data":[1,2]},{"data":"s","metadata":{"m":1}},{"data":null}]}}}`},
	{"file part with bytes, media type and name", asEvent, "",
		`{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"file","file":{"bytes":"AAE=","mimeType":"application/pdf","name":"x.pdf"},"metadata":{"p":true}}]}`,
		`{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"raw":"AAE=","mediaType":"application/pdf","filename":"x.pdf","metadata":{"p":true}}]}}`},
}

func TestTranslatePairs(t *testing.T) {
	for _, c := range pairCases {
		t.Run(c.name, func(t *testing.T) {
			got10, err := translate(c.as, V03, V10, c.m, []byte(c.v03))
			if err != nil {
				t.Fatalf("0.3 to 1.0: %v", err)
			}
			wantJSON(t, "0.3 to 1.0", got10, c.v10)
			got03, err := translate(c.as, V10, V03, c.m, []byte(c.v10))
			if err != nil {
				t.Fatalf("1.0 to 0.3: %v", err)
			}
			wantJSON(t, "1.0 to 0.3", got03, c.v03)

			back03, err := translate(c.as, V10, V03, c.m, got10)
			if err != nil {
				t.Fatalf("round trip back to 0.3: %v", err)
			}
			wantJSON(t, "0.3 round trip", back03, c.v03)
			back10, err := translate(c.as, V03, V10, c.m, got03)
			if err != nil {
				t.Fatalf("round trip back to 1.0: %v", err)
			}
			wantJSON(t, "1.0 round trip", back10, c.v10)
		})
	}
}

func TestSameVersionIsUnchanged(t *testing.T) {
	in := json.RawMessage(`{"not":"even checked"`)
	for _, v := range []string{V03, V10} {
		for _, as := range []string{asParams, asResult, asEvent} {
			got, err := translate(as, v, v, MethodSend, in)
			if err != nil || string(got) != string(in) {
				t.Errorf("%s %s: got %s, %v", v, as, got, err)
			}
		}
	}
}

// oneWayCases translate in one direction only: what the other version
// cannot say is dropped or defaulted, as documented on the functions.
var oneWayCases = []struct {
	name     string
	as       string
	m        Method
	from, to string
	in, want string
}{
	{"send without configuration asks a 0.3 agent to block", asParams, MethodSend, V10, V03,
		`{"message":` + msg10 + `,"tenant":"acme"}`,
		`{"message":` + msg03 + `,"configuration":{"blocking":true}}`},
	{"send with returnImmediately false", asParams, MethodSend, V10, V03,
		`{"message":` + msg10 + `,"configuration":{"returnImmediately":false,"historyLength":0}}`,
		`{"message":` + msg03 + `,"configuration":{"blocking":true,"historyLength":0}}`},
	{"send without configuration to 1.0", asParams, MethodSend, V03, V10,
		`{"message":` + msg03 + `}`, `{"message":` + msg10 + `}`},
	{"get task drops 0.3 metadata", asParams, MethodGetTask, V03, V10,
		`{"id":"t1","metadata":{"a":1}}`, `{"id":"t1"}`},
	{"get task drops the tenant", asParams, MethodGetTask, V10, V03,
		`{"id":"t1","tenant":"acme","historyLength":2}`, `{"id":"t1","historyLength":2}`},
	{"subscribe drops 0.3 metadata", asParams, MethodSubscribe, V03, V10,
		`{"id":"t1","metadata":{"a":1}}`, `{"id":"t1"}`},
	{"push list drops paging", asParams, MethodPushList, V10, V03,
		`{"taskId":"t1","pageSize":10,"pageToken":"x","tenant":"acme"}`, `{"id":"t1"}`},
	{"push set keeps the first of several schemes", asParams, MethodPushSet, V03, V10,
		`{"taskId":"t1","pushNotificationConfig":{"url":"https://h","authentication":{"schemes":["Bearer","Basic"]}}}`,
		`{"taskId":"t1","url":"https://h","authentication":{"scheme":"Bearer"}}`},
	{"push config without scheme gets empty schemes", asResult, MethodPushGet, V10, V03,
		`{"taskId":"t1","url":"https://h","authentication":{"credentials":"c"},"tenant":"acme"}`,
		`{"taskId":"t1","pushNotificationConfig":{"url":"https://h","authentication":{"schemes":[],"credentials":"c"}}}`},
	{"push list drops the page token", asResult, MethodPushList, V10, V03,
		`{"configs":[` + taskPush10 + `],"nextPageToken":"n"}`, `[` + taskPush03 + `]`},
	{"extended card without params", asParams, MethodExtendedCard, V03, V10, ``, ``},

	{"status update loses final towards 1.0", asEvent, "", V03, V10,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working"},"final":true}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}`},
	{"timestamp offsets become UTC", asEvent, "", V03, V10,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working","timestamp":"2025-01-02T03:04:05.5+02:00"},"final":false}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING","timestamp":"2025-01-02T01:04:05.5Z"}}}`},
	{"timestamp without zone is read as UTC", asEvent, "", V03, V10,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working","timestamp":"2025-01-02T03:04:05.123456"},"final":false}`,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING","timestamp":"2025-01-02T03:04:05.123456Z"}}}`},
	{"0.3 parts and events without kind", asEvent, "", V03, V10,
		`{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a","parts":[{"text":"t"},{"file":{"uri":"u"}},{"data":{}}]}}`,
		`{"artifactUpdate":{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a","parts":[{"text":"t"},{"url":"u"},{"data":{}}]}}}`},
	{"1.0 numeric enums", asEvent, "", V10, V03,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":3,"message":{"messageId":"m","role":2,"parts":[{"text":"x"}]}}}}`,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","final":true,"status":{"state":"completed","message":{"kind":"message","messageId":"m","role":"agent","parts":[{"kind":"text","text":"x"}]}}}`},
	{"1.0 defaults left out", asEvent, "", V10, V03,
		`{"task":{"id":"t1","contextId":"c1","status":{},"history":[{"messageId":"m","role":"ROLE_USER"}],"artifacts":[{"artifactId":"a"}]}}`,
		`{"kind":"task","id":"t1","contextId":"c1","status":{"state":"unknown"},"history":[{"kind":"message","messageId":"m","role":"user","parts":[]}],"artifacts":[{"artifactId":"a","parts":[]}]}`},
	{"1.0 task without status", asEvent, "", V10, V03,
		`{"task":{"id":"t1","contextId":"c1"}}`,
		`{"kind":"task","id":"t1","contextId":"c1","status":{"state":"unknown"}}`},
	{"1.0 text part drops its media type", asEvent, "", V10, V03,
		`{"message":{"messageId":"m","role":"ROLE_AGENT","parts":[{"text":"x","mediaType":"text/plain"}]}}`,
		`{"kind":"message","messageId":"m","role":"agent","parts":[{"kind":"text","text":"x"}]}`},
	{"1.0 object data part with media type", asEvent, "", V10, V03,
		`{"message":{"messageId":"m","role":"ROLE_AGENT","parts":[{"data":{"a":1},"mediaType":"application/json"}]}}`,
		`{"kind":"message","messageId":"m","role":"agent","parts":[{"kind":"data","data":{"a":1}}]}`},
	{"1.0 event ignores unknown wrapper members", asEvent, "", V10, V03,
		`{"message":` + agentMsg10 + `,"x":1}`, agentMsg03},
	{"input required ends the 0.3 stream", asEvent, "", V10, V03,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_INPUT_REQUIRED"}}}`,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"input-required"},"final":true}`},
	{"submitted does not", asEvent, "", V10, V03,
		`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_SUBMITTED"}}}`,
		`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"submitted"},"final":false}`},
}

func TestTranslateOneWay(t *testing.T) {
	for _, c := range oneWayCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := translate(c.as, c.from, c.to, c.m, []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %s, want nothing", got)
				}
				return
			}
			wantJSON(t, c.from+" to "+c.to, got, c.want)
		})
	}
}

// Every state and role, both ways, in a status update and its message.
func TestStatesAndRoles(t *testing.T) {
	if len(taskStates) != 9 {
		t.Fatalf("%d task states, want the 9 both versions define", len(taskStates))
	}
	for _, s := range taskStates {
		for _, r := range roles[1:] {
			final := Terminal(s.v03) || Interrupted(s.v03)
			v03 := fmt.Sprintf(`{"kind":"status-update","taskId":"t","contextId":"c","final":%v,
				"status":{"state":%q,"message":{"kind":"message","messageId":"m","role":%q,"parts":[]}}}`, final, s.v03, r.v03)
			v10 := fmt.Sprintf(`{"statusUpdate":{"taskId":"t","contextId":"c",
				"status":{"state":%q,"message":{"messageId":"m","role":%q,"parts":[]}}}}`, s.v10, r.v10)
			got10, err := TranslateEvent(V03, V10, []byte(v03))
			if err != nil {
				t.Fatalf("%s/%s to 1.0: %v", s.v03, r.v03, err)
			}
			wantJSON(t, s.v03+" to 1.0", got10, v10)
			got03, err := TranslateEvent(V10, V03, []byte(v10))
			if err != nil {
				t.Fatalf("%s/%s to 0.3: %v", s.v10, r.v10, err)
			}
			wantJSON(t, s.v10+" to 0.3", got03, v03)
		}
	}
	for _, want := range []struct {
		s                     string
		terminal, interrupted bool
	}{
		{"completed", true, false}, {"canceled", true, false}, {"failed", true, false}, {"rejected", true, false},
		{"input-required", false, true}, {"auth-required", false, true},
		{"submitted", false, false}, {"working", false, false}, {"unknown", false, false},
	} {
		if Terminal(want.s) != want.terminal || Interrupted(want.s) != want.interrupted {
			t.Errorf("%s: terminal %v interrupted %v", want.s, Terminal(want.s), Interrupted(want.s))
		}
	}
}

func TestTranslateRejectsBadInput(t *testing.T) {
	msg := func(part string) string {
		return `{"kind":"message","messageId":"m","role":"user","parts":[` + part + `]}`
	}
	msgParts10 := func(part string) string {
		return `{"message":{"messageId":"m","role":"ROLE_USER","parts":[` + part + `]}}`
	}
	cases := []struct {
		name     string
		as       string
		m        Method
		from, to string
		in       string
	}{
		{"not JSON", asEvent, "", V03, V10, `{"kind":`},
		{"data after the value", asEvent, "", V03, V10, agentMsg03 + ` {}`},
		{"a stray brace after the value", asEvent, "", V03, V10, agentMsg03 + `}`},
		{"a stray bracket after the value", asParams, MethodGetTask, V03, V10, `{"id":"t"}]`},
		{"event not an object", asEvent, "", V03, V10, `[1]`},
		{"unknown event kind", asEvent, "", V03, V10, `{"kind":"thought"}`},
		{"kind not a string", asEvent, "", V03, V10, `{"kind":7}`},
		{"event with nothing to tell its kind", asEvent, "", V03, V10, `{"x":1}`},
		{"unknown part kind", asEvent, "", V03, V10, msg(`{"kind":"video","video":"v"}`)},
		{"part not an object", asEvent, "", V03, V10, msg(`"hi"`)},
		{"parts not an array", asEvent, "", V03, V10, `{"kind":"message","messageId":"m","role":"user","parts":{}}`},
		{"message without parts", asEvent, "", V03, V10, `{"kind":"message","messageId":"m","role":"user"}`},
		{"text not a string", asEvent, "", V03, V10, msg(`{"kind":"text","text":5}`)},
		{"file with bytes and uri", asEvent, "", V03, V10, msg(`{"kind":"file","file":{"bytes":"AA==","uri":"u"}}`)},
		{"file with neither", asEvent, "", V03, V10, msg(`{"kind":"file","file":{"name":"n"}}`)},
		{"file not an object", asEvent, "", V03, V10, msg(`{"kind":"file","file":"u"}`)},
		{"mimeType not a string", asEvent, "", V03, V10, msg(`{"kind":"file","file":{"uri":"u","mimeType":1}}`)},
		{"0.3 data not an object", asEvent, "", V03, V10, msg(`{"kind":"data","data":[1]}`)},
		{"unknown 0.3 role", asEvent, "", V03, V10, `{"kind":"message","messageId":"m","role":"system","parts":[]}`},
		{"unknown 0.3 state", asEvent, "", V03, V10, `{"kind":"status-update","taskId":"t","status":{"state":"paused"}}`},
		{"status not an object", asEvent, "", V03, V10, `{"kind":"task","id":"t","status":"working"}`},
		{"task without status", asEvent, "", V03, V10, `{"kind":"task","id":"t"}`},
		{"status update without status", asEvent, "", V03, V10, `{"kind":"status-update","taskId":"t"}`},
		{"artifact update without artifact", asEvent, "", V03, V10, `{"kind":"artifact-update","taskId":"t"}`},
		{"timestamp not a string", asEvent, "", V03, V10, `{"kind":"status-update","taskId":"t","status":{"state":"working","timestamp":1}}`},
		{"history not an array", asEvent, "", V03, V10, `{"kind":"task","id":"t","status":{"state":"working"},"history":{}}`},

		{"1.0 event with no member", asEvent, "", V10, V03, `{}`},
		{"1.0 event with two members", asEvent, "", V10, V03, `{"task":{"id":"t"},"message":{"messageId":"m"}}`},
		{"1.0 event member not an object", asEvent, "", V10, V03, `{"task":"t"}`},
		{"1.0 part with nothing", asEvent, "", V10, V03, msgParts10(`{"metadata":{}}`)},
		{"1.0 part with text and data", asEvent, "", V10, V03, msgParts10(`{"text":"t","data":{}}`)},
		{"1.0 part url not a string", asEvent, "", V10, V03, msgParts10(`{"url":1}`)},
		{"1.0 non-object data with bad metadata", asEvent, "", V10, V03, msgParts10(`{"data":1,"metadata":[]}`)},
		{"unknown 1.0 state", asEvent, "", V10, V03, `{"statusUpdate":{"taskId":"t","status":{"state":"TASK_STATE_PAUSED"}}}`},
		{"1.0 state number out of range", asEvent, "", V10, V03, `{"statusUpdate":{"taskId":"t","status":{"state":42}}}`},
		{"1.0 state fraction", asEvent, "", V10, V03, `{"statusUpdate":{"taskId":"t","status":{"state":1.5}}}`},
		{"1.0 unspecified role", asEvent, "", V10, V03, `{"message":{"messageId":"m","role":"ROLE_UNSPECIFIED","parts":[]}}`},
		{"1.0 role missing", asEvent, "", V10, V03, `{"message":{"messageId":"m","parts":[]}}`},

		{"artifact id not a string", asEvent, "", V03, V10, `{"kind":"artifact-update","taskId":"t","artifact":{"artifactId":1,"parts":[]}}`},
		{"artifact with a bad part", asEvent, "", V03, V10, `{"kind":"artifact-update","taskId":"t","artifact":{"artifactId":"a","parts":[{"kind":"x"}]}}`},
		{"task id not a string", asEvent, "", V03, V10, `{"kind":"status-update","taskId":7,"status":{"state":"working"}}`},
		{"message id not a string", asEvent, "", V03, V10, `{"kind":"message","messageId":1,"role":"user","parts":[]}`},
		{"1.0 artifact with a bad part", asEvent, "", V10, V03, `{"artifactUpdate":{"taskId":"t","artifact":{"artifactId":"a","parts":[{}]}}}`},
		{"1.0 artifact update without artifact", asEvent, "", V10, V03, `{"artifactUpdate":{"taskId":"t"}}`},
		{"1.0 context id not a string", asEvent, "", V10, V03, `{"task":{"id":"t","contextId":{},"status":{}}}`},
		{"1.0 history with a bad message", asEvent, "", V10, V03, `{"task":{"id":"t","status":{},"history":[{"role":"ROLE_USER","parts":[5]}]}}`},
		{"1.0 role number out of range", asEvent, "", V10, V03, `{"message":{"messageId":"m","role":9,"parts":[]}}`},
		{"1.0 empty url", asEvent, "", V10, V03, `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"url":""}]}}`},
		{"params not an object", asParams, MethodGetTask, V03, V10, `[1]`},
		{"push list with a bad config", asResult, MethodPushList, V03, V10, `[{"taskId":"t"}]`},
		{"1.0 push list with a bad config", asResult, MethodPushList, V10, V03, `{"configs":[{"authentication":{"scheme":1}}]}`},
		{"1.0 push configs not an array", asResult, MethodPushList, V10, V03, `{"configs":{}}`},
		{"params missing", asParams, MethodGetTask, V03, V10, ``},
		{"send without message", asParams, MethodSend, V03, V10, `{"configuration":{}}`},
		{"1.0 send without message", asParams, MethodSend, V10, V03, `{"configuration":{}}`},
		{"blocking not a boolean", asParams, MethodSend, V03, V10, `{"message":` + msg03 + `,"configuration":{"blocking":"no"}}`},
		{"returnImmediately not a boolean", asParams, MethodSend, V10, V03, `{"message":` + msg10 + `,"configuration":{"returnImmediately":1}}`},
		{"configuration not an object", asParams, MethodSend, V03, V10, `{"message":` + msg03 + `,"configuration":[]}`},
		{"push set without config", asParams, MethodPushSet, V03, V10, `{"taskId":"t"}`},
		{"schemes not an array", asParams, MethodPushSet, V03, V10, `{"taskId":"t","pushNotificationConfig":{"url":"u","authentication":{"schemes":"Bearer"}}}`},
		{"scheme not a string", asParams, MethodPushSet, V10, V03, `{"taskId":"t","url":"u","authentication":{"scheme":["Bearer"]}}`},
		{"push list result not an array", asResult, MethodPushList, V03, V10, `{}`},
		{"1.0 push list result not an object", asResult, MethodPushList, V10, V03, `[]`},
		{"get task result not an object", asResult, MethodGetTask, V10, V03, `"t"`},
		{"send result that is an update", asResult, MethodSend, V03, V10, `{"kind":"status-update","taskId":"t","status":{"state":"working"}}`},
		{"1.0 send result that is an update", asResult, MethodSend, V10, V03, `{"statusUpdate":{"taskId":"t","status":{}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := translate(c.as, c.from, c.to, c.m, []byte(c.in))
			if err == nil {
				t.Fatalf("no error; got %s", got)
			}
		})
	}
}

func TestTranslateWithoutEquivalent(t *testing.T) {
	for _, dir := range [][2]string{{V10, V03}, {V03, V10}} {
		if _, err := TranslateParams(dir[0], dir[1], MethodListTasks, []byte(`{}`)); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("ListTasks params %s to %s: %v", dir[0], dir[1], err)
		}
		if _, err := TranslateResult(dir[0], dir[1], MethodListTasks, []byte(`{}`)); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("ListTasks result %s to %s: %v", dir[0], dir[1], err)
		}
		if _, err := TranslateParams(dir[0], dir[1], Method("nope"), []byte(`{}`)); !errors.Is(err, ErrNoEquivalent) {
			t.Errorf("unknown method %s to %s: %v", dir[0], dir[1], err)
		}
	}
	for _, v := range [][2]string{{"0.2", V10}, {V03, "2.0"}, {"", ""}} {
		if _, err := TranslateEvent(v[0], v[1], []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "version") {
			t.Errorf("versions %q %q: %v", v[0], v[1], err)
		}
	}
}

// The input tree is never modified: translating the same bytes twice gives
// the same answer, and the caller's slice is untouched.
func TestTranslateLeavesInputAlone(t *testing.T) {
	in := []byte(`{"kind":"artifact-update","taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","parts":[
		{"kind":"data","data":{"value":1},"metadata":{"data_part_compat":true,"m":1}}]}}`)
	keep := string(in)
	a, err := TranslateEvent(V03, V10, in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := TranslateEvent(V03, V10, in)
	if string(a) != string(b) || string(in) != keep {
		t.Fatalf("translation changed its input or is not repeatable: %s vs %s", a, b)
	}
}

// Members neither version defines survive wherever they are put: on the
// task, its status, messages, artifacts and parts, and on events and params.
func TestUnknownMembersSurvive(t *testing.T) {
	// mark adds "xExt" to every object but metadata and file contents,
	// whose members belong to their owners.
	var mark func(v any)
	mark = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k != "metadata" && k != "file" && k != "data" {
					mark(e)
				}
			}
			x["xExt"] = json.Number("1.50")
		case []any:
			for _, e := range x {
				mark(e)
			}
		}
	}
	for _, c := range pairCases {
		if c.m == MethodPushList || c.m == MethodPushDelete || c.m == MethodExtendedCard {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			tree, err := decode([]byte(c.v03))
			if err != nil {
				t.Fatal(err)
			}
			mark(tree)
			in, _ := encode(tree)
			got10, err := translate(c.as, V03, V10, c.m, in)
			if err != nil {
				t.Fatal(err)
			}
			if n, want := strings.Count(string(got10), `"xExt":1.50`), strings.Count(string(in), `"xExt":1.50`); n < want-1 || n == 0 {
				// A 0.3 send result, task or message, is one object
				// where 1.0 has two (the wrapper); push configs merge two.
				t.Errorf("%d of %d unknown members left in %s", n, want, got10)
			}
			if c.m == MethodPushSet || c.m == MethodPushGet {
				// 1.0 flattens the 0.3 config into its task's object, so
				// members of the two meet there and come back inside.
				return
			}
			back, err := translate(c.as, V10, V03, c.m, got10)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, back, in) {
				t.Errorf("round trip lost members:\n got %s\nwant %s", back, in)
			}
		})
	}
}
