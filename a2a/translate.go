package a2a

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The translation works on the generic encoding/json tree (objects as
// map[string]any, numbers as json.Number) so that members this package does
// not know, such as metadata and extension fields, pass through untouched
// and numbers keep their exact text.
//
// What one version cannot say is dropped or defaulted, so a round trip
// 0.3 → 1.0 → 0.3 gives back the original except for:
//   - final on status updates: dropped towards 1.0, and set towards 0.3
//     from the state (terminal, input-required or auth-required);
//   - message/send configuration.blocking: always written towards 0.3
//     (true unless returnImmediately), because 1.0 blocks by default;
//   - metadata on tasks/get, tasks/resubscribe and the push config calls,
//     which 1.0 lacks, and all but the first of several push auth schemes;
//   - timestamps, rewritten as RFC 3339 in UTC;
//   - parts: 0.3 parts without kind gain one; 1.0 text and data parts lose
//     mediaType and filename; 1.0 data that is not an object travels in
//     0.3 as {"value": v} with metadata data_part_compat: true;
//   - parts: [] added where a message or artifact had none;
//   - agent cards: stateTransitionHistory, the tenant of interfaces and
//     1.0's deviceCode OAuth flow; the interfaces declare the target
//     version;
//   - push configs: members 0.3 does not define, beside taskId or in the
//     nested config, meet in 1.0's flat object and come back in the nested
//     one; unknown members of a 0.3 file object are dropped;
//   - towards 0.3: the tenant, and the paging of push config lists;
//   - error data, reshaped as TranslateError describes.

// ErrNoEquivalent is returned when a method or value of one version has no
// counterpart in the other (ListTasks towards 0.3, for one).
var ErrNoEquivalent = errors.New("no equivalent in the target version")

// TranslateParams converts the params of method m from version from to
// version to. from == to returns the input unchanged.
func TranslateParams(from, to string, m Method, params json.RawMessage) (json.RawMessage, error) {
	if err := checkVersions(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return params, nil
	}
	if WireName(from, m) == "" || WireName(to, m) == "" {
		return nil, fmt.Errorf("params of %s from %s to %s: %w", m, from, to, ErrNoEquivalent)
	}
	if len(bytes.TrimSpace(params)) == 0 {
		// Only the extended card call may come without params.
		if m == MethodExtendedCard {
			return nil, nil
		}
		return nil, fmt.Errorf("params of %s: missing", m)
	}
	tree, err := decode(params)
	if err != nil {
		return nil, fmt.Errorf("params of %s: %w", m, err)
	}
	p, err := asObject(tree, "params")
	if err != nil {
		return nil, fmt.Errorf("params of %s: %w", m, err)
	}
	var out map[string]any
	if to == V10 {
		out, err = paramsTo10(m, p)
	} else {
		out, err = paramsTo03(m, p)
	}
	if err != nil {
		return nil, fmt.Errorf("params of %s from %s to %s: %w", m, from, to, err)
	}
	return encode(out)
}

// TranslateResult converts the result of method m from version from to
// version to. The results of streaming methods are events (TranslateEvent).
func TranslateResult(from, to string, m Method, result json.RawMessage) (json.RawMessage, error) {
	if err := checkVersions(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return result, nil
	}
	if WireName(from, m) == "" || WireName(to, m) == "" {
		return nil, fmt.Errorf("result of %s from %s to %s: %w", m, from, to, ErrNoEquivalent)
	}
	tree, err := decode(result)
	if err != nil {
		return nil, fmt.Errorf("result of %s: %w", m, err)
	}
	var out any
	if to == V10 {
		out, err = resultTo10(m, tree)
	} else {
		out, err = resultTo03(m, tree)
	}
	if err != nil {
		return nil, fmt.Errorf("result of %s from %s to %s: %w", m, from, to, err)
	}
	return encode(out)
}

func resultTo10(m Method, r any) (any, error) {
	switch m {
	case MethodSend:
		// A message/send result is a Task or a Message, which 1.0 wraps
		// the same way as a stream event.
		out, err := eventTo10(r)
		if err != nil {
			return nil, err
		}
		if out["task"] == nil && out["message"] == nil {
			return nil, errors.New("a send result must be a task or a message")
		}
		return out, nil
	case MethodStream, MethodSubscribe:
		return eventTo10(r)
	case MethodGetTask, MethodCancelTask:
		t, err := asObject(r, "task")
		if err != nil {
			return nil, err
		}
		return taskTo10(t)
	case MethodPushSet, MethodPushGet:
		c, err := asObject(r, "push config")
		if err != nil {
			return nil, err
		}
		return taskPushConfigTo10(c)
	case MethodPushList:
		return pushListTo10(r)
	case MethodPushDelete:
		return r, nil
	case MethodExtendedCard:
		c, err := asObject(r, "agent card")
		if err != nil {
			return nil, err
		}
		return cardTo10(c)
	}
	return nil, fmt.Errorf("method %q: %w", m, ErrNoEquivalent)
}

func resultTo03(m Method, r any) (any, error) {
	switch m {
	case MethodSend:
		if o, ok := r.(map[string]any); ok && o["task"] == nil && o["message"] == nil {
			return nil, errors.New("a send result must be a task or a message")
		}
		return eventTo03(r)
	case MethodStream, MethodSubscribe:
		return eventTo03(r)
	case MethodGetTask, MethodCancelTask:
		t, err := asObject(r, "task")
		if err != nil {
			return nil, err
		}
		return taskTo03(t)
	case MethodPushSet, MethodPushGet:
		c, err := asObject(r, "push config")
		if err != nil {
			return nil, err
		}
		return taskPushConfigTo03(c)
	case MethodPushList:
		return pushListTo03(r)
	case MethodPushDelete:
		return r, nil
	case MethodExtendedCard:
		c, err := asObject(r, "agent card")
		if err != nil {
			return nil, err
		}
		return cardTo03(c)
	}
	return nil, fmt.Errorf("method %q: %w", m, ErrNoEquivalent)
}

// TranslateEvent converts one streamed event: the result of one SSE
// response of a streaming method. 0.3 events are Task, Message,
// status-update or artifact-update objects told apart by kind; 1.0 events
// wrap the same four in an object with one member naming which.
func TranslateEvent(from, to string, event json.RawMessage) (json.RawMessage, error) {
	if err := checkVersions(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return event, nil
	}
	tree, err := decode(event)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	var out any
	if to == V10 {
		out, err = eventTo10(tree)
	} else {
		out, err = eventTo03(tree)
	}
	if err != nil {
		return nil, fmt.Errorf("event from %s to %s: %w", from, to, err)
	}
	return encode(out)
}

func checkVersions(from, to string) error {
	for _, v := range []string{from, to} {
		if v != V03 && v != V10 {
			return fmt.Errorf("unknown A2A version %q", v)
		}
	}
	return nil
}

// decode reads one JSON value into the generic tree, numbers as json.Number.
func decode(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode: data after the JSON value")
	}
	return v, nil
}

// encode writes the tree back without HTML escaping, so text such as "<"
// stays as the sender wrote it.
func encode(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func asObject(v any, what string) (map[string]any, error) {
	o, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object, got %s", what, typeName(v))
	}
	return o, nil
}

func asArray(v any, what string) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an array, got %s", what, typeName(v))
	}
	return a, nil
}

// stringField reads an optional string member; absent and null read as "".
func stringField(o map[string]any, key string) (string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %s", key, typeName(v))
	}
	return s, nil
}

// checkStrings fails when one of the members is present but not a string:
// ids pass through translation untouched, so a bad one is caught here.
func checkStrings(o map[string]any, keys ...string) error {
	for _, k := range keys {
		if _, err := stringField(o, k); err != nil {
			return err
		}
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// shallowCopy copies an object's members so the translated object can
// drop and rename some without touching the input tree.
func shallowCopy(o map[string]any) map[string]any {
	out := make(map[string]any, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

// mapArray translates each element of an optional array member in place
// (on a copy); absent or null members stay as they are.
func mapArray(o map[string]any, key string, f func(map[string]any) (map[string]any, error)) error {
	v, ok := o[key]
	if !ok || v == nil {
		return nil
	}
	arr, err := asArray(v, key)
	if err != nil {
		return err
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		eo, err := asObject(e, fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return err
		}
		if out[i], err = f(eo); err != nil {
			return fmt.Errorf("%s[%d]: %w", key, i, err)
		}
	}
	o[key] = out
	return nil
}

// mapObject translates an optional object member (on a copy).
func mapObject(o map[string]any, key string, f func(map[string]any) (map[string]any, error)) error {
	v, ok := o[key]
	if !ok || v == nil {
		return nil
	}
	vo, err := asObject(v, key)
	if err != nil {
		return err
	}
	out, err := f(vo)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	o[key] = out
	return nil
}
