package a2a

import (
	"encoding/json"
	"fmt"
)

// Task states: 0.3 names them in kebab case, 1.0 by the proto enum names.
// 0.3 "unknown" is the state 1.0 leaves unspecified. The order is the 1.0
// enum number, which proto-JSON readers also accept in place of the name.
var taskStates = []struct{ v03, v10 string }{
	{"unknown", "TASK_STATE_UNSPECIFIED"},
	{"submitted", "TASK_STATE_SUBMITTED"},
	{"working", "TASK_STATE_WORKING"},
	{"completed", "TASK_STATE_COMPLETED"},
	{"failed", "TASK_STATE_FAILED"},
	{"canceled", "TASK_STATE_CANCELED"},
	{"input-required", "TASK_STATE_INPUT_REQUIRED"},
	{"rejected", "TASK_STATE_REJECTED"},
	{"auth-required", "TASK_STATE_AUTH_REQUIRED"},
}

// Message roles, likewise in 1.0 enum order.
var roles = []struct{ v03, v10 string }{
	{"", "ROLE_UNSPECIFIED"},
	{"user", "ROLE_USER"},
	{"agent", "ROLE_AGENT"},
}

// StateTo10 maps a 0.3 task state to its 1.0 name.
func StateTo10(s string) (string, bool) {
	for _, e := range taskStates {
		if e.v03 == s {
			return e.v10, true
		}
	}
	return "", false
}

// StateTo03 maps a 1.0 task state name to its 0.3 name.
func StateTo03(s string) (string, bool) {
	for _, e := range taskStates {
		if e.v10 == s {
			return e.v03, true
		}
	}
	return "", false
}

// Terminal reports whether a 0.3 state ends the task for good.
func Terminal(state string) bool {
	switch state {
	case "completed", "canceled", "failed", "rejected":
		return true
	}
	return false
}

// Interrupted reports whether a 0.3 state pauses the task until the client
// acts; a stream ends there too.
func Interrupted(state string) bool {
	return state == "input-required" || state == "auth-required"
}

// enumName reads a 1.0 enum member, which proto-JSON allows as the name or
// as the number; numbers are turned into names through table.
func enumName(v any, table func(int) (string, bool), what string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return "", fmt.Errorf("%s: bad enum number %s", what, x)
		}
		if name, ok := table(int(n)); ok {
			return name, nil
		}
		return "", fmt.Errorf("%s: unknown enum number %d", what, n)
	}
	return "", fmt.Errorf("%s: want a string, got %s", what, typeName(v))
}

func stateByNumber(n int) (string, bool) {
	if n < 0 || n >= len(taskStates) {
		return "", false
	}
	return taskStates[n].v10, true
}

func roleByNumber(n int) (string, bool) {
	if n < 0 || n >= len(roles) {
		return "", false
	}
	return roles[n].v10, true
}

func stateTo10(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("state: want a string, got %s", typeName(v))
	}
	out, ok := StateTo10(s)
	if !ok {
		return "", fmt.Errorf("state: unknown 0.3 task state %q", s)
	}
	return out, nil
}

func stateTo03(v any) (string, error) {
	name, err := enumName(v, stateByNumber, "state")
	if err != nil {
		return "", err
	}
	out, ok := StateTo03(name)
	if !ok {
		return "", fmt.Errorf("state: unknown 1.0 task state %q", name)
	}
	return out, nil
}

func roleTo10(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("role: want a string, got %s", typeName(v))
	}
	for _, r := range roles {
		if r.v03 == s && s != "" {
			return r.v10, nil
		}
	}
	return "", fmt.Errorf("role: unknown 0.3 role %q", s)
}

func roleTo03(v any) (string, error) {
	name, err := enumName(v, roleByNumber, "role")
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		if r.v10 == name && r.v03 != "" {
			return r.v03, nil
		}
	}
	return "", fmt.Errorf("role: 1.0 role %q has no 0.3 equivalent", name)
}
