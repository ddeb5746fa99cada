package a2a

// Protocol versions the gateway translates between.
const (
	V03 = "0.3"
	V10 = "1.0"
)

// Method is a version-neutral name of an A2A method.
type Method string

const (
	MethodSend         Method = "send"
	MethodStream       Method = "stream"
	MethodGetTask      Method = "get-task"
	MethodCancelTask   Method = "cancel-task"
	MethodSubscribe    Method = "subscribe"
	MethodListTasks    Method = "list-tasks"
	MethodPushSet      Method = "push-set"
	MethodPushGet      Method = "push-get"
	MethodPushList     Method = "push-list"
	MethodPushDelete   Method = "push-delete"
	MethodExtendedCard Method = "extended-card"
)

// wireNames holds each method's name per version; a method a version lacks
// (ListTasks in 0.3) has no entry there.
var wireNames = map[string]map[Method]string{
	V03: {
		MethodSend:         "message/send",
		MethodStream:       "message/stream",
		MethodGetTask:      "tasks/get",
		MethodCancelTask:   "tasks/cancel",
		MethodSubscribe:    "tasks/resubscribe",
		MethodPushSet:      "tasks/pushNotificationConfig/set",
		MethodPushGet:      "tasks/pushNotificationConfig/get",
		MethodPushList:     "tasks/pushNotificationConfig/list",
		MethodPushDelete:   "tasks/pushNotificationConfig/delete",
		MethodExtendedCard: "agent/getAuthenticatedExtendedCard",
	},
	V10: {
		MethodSend:         "SendMessage",
		MethodStream:       "SendStreamingMessage",
		MethodGetTask:      "GetTask",
		MethodCancelTask:   "CancelTask",
		MethodSubscribe:    "SubscribeToTask",
		MethodListTasks:    "ListTasks",
		MethodPushSet:      "CreateTaskPushNotificationConfig",
		MethodPushGet:      "GetTaskPushNotificationConfig",
		MethodPushList:     "ListTaskPushNotificationConfigs",
		MethodPushDelete:   "DeleteTaskPushNotificationConfig",
		MethodExtendedCard: "GetExtendedAgentCard",
	},
}

// methodsByWire is wireNames inverted, built once.
var methodsByWire = func() map[string]map[string]Method {
	out := make(map[string]map[string]Method, len(wireNames))
	for v, names := range wireNames {
		out[v] = make(map[string]Method, len(names))
		for m, wire := range names {
			out[v][wire] = m
		}
	}
	return out
}()

// MethodOf maps a wire method name of version v to the neutral method; ok is
// false when v has no method of that name (or v is not a known version).
func MethodOf(v, wire string) (Method, bool) {
	m, ok := methodsByWire[v][wire]
	return m, ok
}

// WireName is the method's name in version v, "" when v lacks it.
func WireName(v string, m Method) string {
	return wireNames[v][m]
}

// Streams reports whether the method answers with a stream of events
// rather than one result.
func (m Method) Streams() bool {
	return m == MethodStream || m == MethodSubscribe
}
