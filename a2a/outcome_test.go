package a2a

import (
	"encoding/json"
	"testing"
)

func TestReadOutcome(t *testing.T) {
	cases := []struct {
		name     string
		v        string
		m        Method
		in       string
		task     string
		ctx      string
		state    string
		final    bool
		message  string // 0.3 shape, "" for none
		wantTask string // 0.3 shape, "" for none
	}{
		{"0.3 task result", V03, MethodSend, task03, "t1", "c1", "input-required", true, agentMsg03, task03},
		{"1.0 task result", V10, MethodSend, `{"task":` + task10 + `}`, "t1", "c1", "input-required", true, agentMsg03, task03},
		{"0.3 get task", V03, MethodGetTask, task03, "t1", "c1", "input-required", true, agentMsg03, task03},
		{"1.0 get task", V10, MethodGetTask, task10, "t1", "c1", "input-required", true, agentMsg03, task03},
		{"1.0 cancel", V10, MethodCancelTask, `{"id":"t2","contextId":"c","status":{"state":"TASK_STATE_CANCELED"}}`,
			"t2", "c", "canceled", true, "", `{"kind":"task","id":"t2","contextId":"c","status":{"state":"canceled"}}`},
		{"0.3 task without kind", V03, MethodGetTask, `{"id":"t2","contextId":"c","status":{"state":"working"}}`,
			"t2", "c", "working", false, "", `{"kind":"task","id":"t2","contextId":"c","status":{"state":"working"}}`},
		{"0.3 message result", V03, MethodSend, msg03, "t1", "c1", "", true, msg03, ""},
		{"1.0 message result", V10, MethodSend, `{"message":` + msg10 + `}`, "t1", "c1", "", true, msg03, ""},
		{"0.3 working update", V03, MethodStream,
			`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working"},"final":false}`,
			"t1", "c1", "working", false, "", ""},
		{"0.3 update marked final", V03, MethodStream,
			`{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working"},"final":true}`,
			"t1", "c1", "working", true, "", ""},
		{"1.0 completed update", V10, MethodSubscribe,
			`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED","message":` + agentMsg10 + `}}}`,
			"t1", "c1", "completed", true, agentMsg03, ""},
		{"1.0 artifact update", V10, MethodStream,
			`{"artifactUpdate":{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a","parts":[{"text":"x"}]}}}`,
			"t1", "c1", "", false, "", ""},
		{"push config says nothing", V03, MethodPushGet, taskPush03, "", "", "", false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := ReadOutcome(c.v, c.m, json.RawMessage(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if o.TaskID != c.task || o.ContextID != c.ctx || o.State != c.state || o.Final != c.final {
				t.Errorf("got task %q context %q state %q final %v", o.TaskID, o.ContextID, o.State, o.Final)
			}
			if c.message == "" {
				if o.Message != nil {
					t.Errorf("message %s, want none", o.Message)
				}
			} else {
				wantJSON(t, "message", o.Message, c.message)
			}
			if c.wantTask == "" {
				if o.Task != nil {
					t.Errorf("task %s, want none", o.Task)
				}
			} else {
				wantJSON(t, "task", o.Task, c.wantTask)
			}
		})
	}
}

func TestReadOutcomeRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		v  string
		m  Method
		in string
	}{
		{V03, MethodSend, `{`},
		{V03, MethodSend, `[]`},
		{V03, MethodSend, `{"kind":"thought"}`},
		{V03, MethodGetTask, `{"kind":"task","id":5,"status":{"state":"working"}}`},
		{V03, MethodGetTask, `{"kind":"task","id":"t","status":"working"}`},
		{V03, MethodStream, `{"kind":"status-update","taskId":"t","status":{"state":1}}`},
		{V10, MethodSend, `{}`},
		{V10, MethodGetTask, `[]`},
		{"2", MethodSend, `{}`},
	} {
		if _, err := ReadOutcome(c.v, c.m, json.RawMessage(c.in)); err == nil {
			t.Errorf("%s %s %s: no error", c.v, c.m, c.in)
		}
	}
}

func TestTaskIDOf(t *testing.T) {
	for _, c := range []struct {
		v      string
		m      Method
		params string
		want   string
	}{
		{V03, MethodSend, `{"message":` + msg03 + `}`, "t1"},
		{V10, MethodStream, `{"message":` + msg10 + `}`, "t1"},
		{V03, MethodSend, `{"message":` + agentMsg03 + `}`, ""},
		{V03, MethodGetTask, `{"id":"t2","historyLength":1}`, "t2"},
		{V10, MethodCancelTask, `{"id":"t3"}`, "t3"},
		{V03, MethodSubscribe, `{"id":"t4"}`, "t4"},
		{V03, MethodPushSet, taskPush03, "t1"},
		{V10, MethodPushSet, taskPush10, "t1"},
		{V03, MethodPushGet, `{"id":"t5","pushNotificationConfigId":"p"}`, "t5"},
		{V10, MethodPushGet, `{"taskId":"t5","id":"p"}`, "t5"},
		{V03, MethodPushList, `{"id":"t6"}`, "t6"},
		{V10, MethodPushDelete, `{"taskId":"t7","id":"p"}`, "t7"},
		{V10, MethodListTasks, `{"contextId":"c"}`, ""},
		{V03, MethodGetTask, `{"id":5}`, ""},
		{V03, MethodGetTask, `[`, ""},
		{V03, MethodSend, `{"message":"m"}`, ""},
	} {
		if got := TaskIDOf(c.v, c.m, json.RawMessage(c.params)); got != c.want {
			t.Errorf("TaskIDOf(%s, %s, %s) = %q, want %q", c.v, c.m, c.params, got, c.want)
		}
	}
}
