package a2a

import (
	"errors"
	"fmt"
)

// paramsTo10 translates the params of a 0.3 request into those of the same
// method in 1.0. Members 1.0 lacks for the method (metadata on GetTask,
// SubscribeToTask and the push config calls) are dropped; unknown members
// pass through.
func paramsTo10(m Method, p map[string]any) (map[string]any, error) {
	switch m {
	case MethodSend, MethodStream:
		out := shallowCopy(p)
		if p["message"] == nil {
			return nil, errors.New("message: missing")
		}
		if err := mapObject(out, "message", messageTo10); err != nil {
			return nil, err
		}
		if err := mapObject(out, "configuration", sendConfigTo10); err != nil {
			return nil, err
		}
		return out, nil
	case MethodGetTask, MethodSubscribe:
		return rename(p, []string{"metadata"}, nil), nil
	case MethodCancelTask:
		return shallowCopy(p), nil
	case MethodPushSet:
		return taskPushConfigTo10(p)
	case MethodPushGet, MethodPushDelete:
		return rename(p, []string{"metadata"}, map[string]string{"id": "taskId", "pushNotificationConfigId": "id"}), nil
	case MethodPushList:
		return rename(p, []string{"metadata"}, map[string]string{"id": "taskId"}), nil
	case MethodExtendedCard:
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("method %q: %w", m, ErrNoEquivalent)
}

// paramsTo03 translates the params of a 1.0 request into 0.3. The tenant,
// which 0.3 does not know, and the list page members are dropped.
func paramsTo03(m Method, p map[string]any) (map[string]any, error) {
	switch m {
	case MethodSend, MethodStream:
		out := rename(p, []string{"tenant"}, nil)
		if p["message"] == nil {
			return nil, errors.New("message: missing")
		}
		if err := mapObject(out, "message", messageTo03); err != nil {
			return nil, err
		}
		if m == MethodSend && out["configuration"] == nil {
			out["configuration"] = map[string]any{}
		}
		if err := mapObject(out, "configuration", sendConfigTo03); err != nil {
			return nil, err
		}
		return out, nil
	case MethodGetTask, MethodCancelTask, MethodSubscribe, MethodExtendedCard:
		return rename(p, []string{"tenant"}, nil), nil
	case MethodPushSet:
		return taskPushConfigTo03(p)
	case MethodPushGet, MethodPushDelete:
		return rename(p, []string{"tenant"}, map[string]string{"taskId": "id", "id": "pushNotificationConfigId"}), nil
	case MethodPushList:
		return rename(p, []string{"tenant", "pageSize", "pageToken"}, map[string]string{"taskId": "id"}), nil
	}
	return nil, fmt.Errorf("method %q: %w", m, ErrNoEquivalent)
}

// rename copies an object without the members in drop and with the members
// in names renamed; renames apply all at once, so swapping names works.
// A renamed member that is absent stays absent.
func rename(p map[string]any, drop []string, names map[string]string) map[string]any {
	out := shallowCopy(p)
	for _, k := range drop {
		delete(out, k)
	}
	for from := range names {
		delete(out, from)
	}
	for from, to := range names {
		if v, ok := p[from]; ok {
			out[to] = v
		}
	}
	return out
}
