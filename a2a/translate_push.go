package a2a

import "fmt"

// Push notification configs. 0.3 nests the config under its task:
// {"taskId", "pushNotificationConfig": {"id","url","token",
// "authentication": {"schemes": [...], "credentials"}}}. 1.0 is flat:
// {"taskId","id","url","token","authentication": {"scheme","credentials"},
// "tenant"}.

// pushConfigTo10 turns a 0.3 PushNotificationConfig into the members of a
// 1.0 TaskPushNotificationConfig (without taskId).
func pushConfigTo10(c map[string]any) (map[string]any, error) {
	out := shallowCopy(c)
	if err := mapObject(out, "authentication", authTo10); err != nil {
		return nil, fmt.Errorf("push config: %w", err)
	}
	return out, nil
}

// pushConfigTo03 turns a 1.0 TaskPushNotificationConfig into a 0.3
// PushNotificationConfig, which has no task id or tenant of its own.
func pushConfigTo03(c map[string]any) (map[string]any, error) {
	out := shallowCopy(c)
	delete(out, "taskId")
	delete(out, "tenant")
	if err := mapObject(out, "authentication", authTo03); err != nil {
		return nil, fmt.Errorf("push config: %w", err)
	}
	return out, nil
}

// authTo10 keeps the first of the 0.3 schemes: 1.0 names one scheme.
func authTo10(a map[string]any) (map[string]any, error) {
	out := shallowCopy(a)
	delete(out, "schemes")
	if a["schemes"] != nil {
		schemes, err := asArray(a["schemes"], "schemes")
		if err != nil {
			return nil, err
		}
		if len(schemes) > 0 {
			s, ok := schemes[0].(string)
			if !ok {
				return nil, fmt.Errorf("schemes[0]: want a string, got %s", typeName(schemes[0]))
			}
			out["scheme"] = s
		}
	}
	return out, nil
}

func authTo03(a map[string]any) (map[string]any, error) {
	out := shallowCopy(a)
	delete(out, "scheme")
	scheme, err := stringField(a, "scheme")
	if err != nil {
		return nil, err
	}
	// schemes is required in 0.3, if empty.
	out["schemes"] = []any{}
	if scheme != "" {
		out["schemes"] = []any{scheme}
	}
	return out, nil
}

// taskPushConfigTo10 flattens a 0.3 TaskPushNotificationConfig.
func taskPushConfigTo10(c map[string]any) (map[string]any, error) {
	pc, err := asObject(c["pushNotificationConfig"], "pushNotificationConfig")
	if err != nil {
		return nil, err
	}
	out, err := pushConfigTo10(pc)
	if err != nil {
		return nil, err
	}
	for k, v := range c {
		if k == "pushNotificationConfig" {
			continue
		}
		if _, taken := out[k]; !taken || k == "taskId" {
			out[k] = v
		}
	}
	return out, nil
}

// taskPushConfigTo03 nests a 1.0 TaskPushNotificationConfig.
func taskPushConfigTo03(c map[string]any) (map[string]any, error) {
	pc, err := pushConfigTo03(c)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"pushNotificationConfig": pc}
	if c["taskId"] != nil {
		out["taskId"] = c["taskId"]
	}
	return out, nil
}

// pushListTo10: 0.3 answers tasks/pushNotificationConfig/list with a bare
// array; 1.0 with {"configs": [...]} (and a page token 0.3 never has).
func pushListTo10(v any) (any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	arr, err := asArray(v, "push config list")
	if err != nil {
		return nil, err
	}
	configs := make([]any, len(arr))
	for i, e := range arr {
		c, err := asObject(e, fmt.Sprintf("push config list[%d]", i))
		if err != nil {
			return nil, err
		}
		if configs[i], err = taskPushConfigTo10(c); err != nil {
			return nil, fmt.Errorf("push config list[%d]: %w", i, err)
		}
	}
	out := map[string]any{}
	if len(configs) > 0 {
		out["configs"] = configs
	}
	return out, nil
}

func pushListTo03(v any) (any, error) {
	o, err := asObject(v, "push config list")
	if err != nil {
		return nil, err
	}
	out := []any{}
	if o["configs"] == nil {
		return out, nil
	}
	arr, err := asArray(o["configs"], "configs")
	if err != nil {
		return nil, err
	}
	for i, e := range arr {
		c, err := asObject(e, fmt.Sprintf("configs[%d]", i))
		if err != nil {
			return nil, err
		}
		tc, err := taskPushConfigTo03(c)
		if err != nil {
			return nil, fmt.Errorf("configs[%d]: %w", i, err)
		}
		out = append(out, tc)
	}
	return out, nil
}

// sendConfigTo10 translates MessageSendConfiguration: blocking becomes its
// inverse, returnImmediately, and the push config is flattened.
func sendConfigTo10(c map[string]any) (map[string]any, error) {
	out := shallowCopy(c)
	delete(out, "blocking")
	delete(out, "pushNotificationConfig")
	if c["blocking"] != nil {
		b, ok := c["blocking"].(bool)
		if !ok {
			return nil, fmt.Errorf("blocking: want a boolean, got %s", typeName(c["blocking"]))
		}
		if !b {
			out["returnImmediately"] = true
		}
	}
	if c["pushNotificationConfig"] != nil {
		pc, err := asObject(c["pushNotificationConfig"], "pushNotificationConfig")
		if err != nil {
			return nil, err
		}
		if out["taskPushNotificationConfig"], err = pushConfigTo10(pc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sendConfigTo03 is the inverse of sendConfigTo10. blocking is always
// written: 1.0 blocks unless told otherwise, and 0.3 agents differ in what
// they take a missing blocking to mean.
func sendConfigTo03(c map[string]any) (map[string]any, error) {
	out := shallowCopy(c)
	delete(out, "returnImmediately")
	delete(out, "taskPushNotificationConfig")
	immediate := false
	if c["returnImmediately"] != nil {
		b, ok := c["returnImmediately"].(bool)
		if !ok {
			return nil, fmt.Errorf("returnImmediately: want a boolean, got %s", typeName(c["returnImmediately"]))
		}
		immediate = b
	}
	out["blocking"] = !immediate
	if c["taskPushNotificationConfig"] != nil {
		pc, err := asObject(c["taskPushNotificationConfig"], "taskPushNotificationConfig")
		if err != nil {
			return nil, err
		}
		if out["pushNotificationConfig"], err = pushConfigTo03(pc); err != nil {
			return nil, err
		}
	}
	return out, nil
}
