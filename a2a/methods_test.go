package a2a

import "testing"

func TestMethodNames(t *testing.T) {
	cases := []struct {
		m        Method
		v03, v10 string
	}{
		{MethodSend, "message/send", "SendMessage"},
		{MethodStream, "message/stream", "SendStreamingMessage"},
		{MethodGetTask, "tasks/get", "GetTask"},
		{MethodCancelTask, "tasks/cancel", "CancelTask"},
		{MethodSubscribe, "tasks/resubscribe", "SubscribeToTask"},
		{MethodListTasks, "", "ListTasks"},
		{MethodPushSet, "tasks/pushNotificationConfig/set", "CreateTaskPushNotificationConfig"},
		{MethodPushGet, "tasks/pushNotificationConfig/get", "GetTaskPushNotificationConfig"},
		{MethodPushList, "tasks/pushNotificationConfig/list", "ListTaskPushNotificationConfigs"},
		{MethodPushDelete, "tasks/pushNotificationConfig/delete", "DeleteTaskPushNotificationConfig"},
		{MethodExtendedCard, "agent/getAuthenticatedExtendedCard", "GetExtendedAgentCard"},
	}
	for _, c := range cases {
		if got := WireName(V03, c.m); got != c.v03 {
			t.Errorf("WireName(0.3, %s) = %q, want %q", c.m, got, c.v03)
		}
		if got := WireName(V10, c.m); got != c.v10 {
			t.Errorf("WireName(1.0, %s) = %q, want %q", c.m, got, c.v10)
		}
		for v, wire := range map[string]string{V03: c.v03, V10: c.v10} {
			if wire == "" {
				continue
			}
			if m, ok := MethodOf(v, wire); !ok || m != c.m {
				t.Errorf("MethodOf(%s, %q) = %q, %v", v, wire, m, ok)
			}
		}
	}
	for _, c := range []struct{ v, wire string }{
		{V03, "SendMessage"}, {V10, "message/send"}, {V03, "ListTasks"}, {V10, ""}, {"0.2", "message/send"}, {V10, "sendmessage"},
	} {
		if m, ok := MethodOf(c.v, c.wire); ok {
			t.Errorf("MethodOf(%q, %q) = %q, want none", c.v, c.wire, m)
		}
	}
	if WireName("2.0", MethodSend) != "" {
		t.Error("a wire name for an unknown version")
	}
	if !MethodStream.Streams() || !MethodSubscribe.Streams() || MethodSend.Streams() {
		t.Error("Streams")
	}
}
