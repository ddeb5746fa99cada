package a2a

import "encoding/json"

// errorReasons are the google.rpc.ErrorInfo reasons 1.0 gives the A2A
// error codes.
var errorReasons = map[int]string{
	CodeTaskNotFound:              "TASK_NOT_FOUND",
	CodeTaskNotCancelable:         "TASK_NOT_CANCELABLE",
	CodePushNotSupported:          "PUSH_NOTIFICATION_NOT_SUPPORTED",
	CodeUnsupportedOperation:      "UNSUPPORTED_OPERATION",
	CodeContentTypeNotSupported:   "CONTENT_TYPE_NOT_SUPPORTED",
	CodeInvalidAgentResponse:      "INVALID_AGENT_RESPONSE",
	CodeExtendedCardNotConfigured: "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
	CodeExtensionSupportRequired:  "EXTENSION_SUPPORT_REQUIRED",
	CodeVersionNotSupported:       "VERSION_NOT_SUPPORTED",
}

const (
	errorInfoType   = "type.googleapis.com/google.rpc.ErrorInfo"
	errorInfoDomain = "a2a-protocol.org"
)

// TranslateError reshapes an error response for a client of version to.
// Codes are the same in both versions and are kept. What differs is data:
// 1.0 sends an array of google.rpc detail objects, while 0.3 clients (the Go
// SDK's among them) only read an object, so towards 0.3 any data that is
// not an object is wrapped: an array as {"details": [...]}, anything else as
// {"value": …}. Towards 1.0 the details wrapping is undone, and an A2A error
// without data gets the ErrorInfo detail 1.0 clients read its reason from.
// The input is not modified.
func TranslateError(from, to string, e *RPCError) *RPCError {
	if e == nil || from == to || checkVersions(from, to) != nil {
		return e
	}
	out := *e
	var data any
	hasData := len(e.Data) > 0
	if hasData {
		var err error
		if data, err = decode(e.Data); err != nil {
			// Data that is not JSON cannot be passed on as JSON.
			hasData = false
			out.Data = nil
		}
	}
	if to == V03 {
		if !hasData || data == nil {
			out.Data = nil
			return &out
		}
		switch d := data.(type) {
		case map[string]any:
		case []any:
			out.Data = mustEncode(map[string]any{"details": d})
		default:
			out.Data = mustEncode(map[string]any{"value": d})
		}
		return &out
	}
	if o, ok := data.(map[string]any); ok && len(o) == 1 {
		if d, ok := o["details"].([]any); ok {
			out.Data = mustEncode(d)
			return &out
		}
	}
	if reason, ok := errorReasons[e.Code]; ok && (!hasData || data == nil) {
		out.Data = mustEncode([]any{map[string]any{
			"@type":  errorInfoType,
			"reason": reason,
			"domain": errorInfoDomain,
		}})
	}
	return &out
}

// mustEncode encodes trees made of decoded JSON, which always encode.
func mustEncode(v any) json.RawMessage {
	raw, err := encode(v)
	if err != nil {
		return nil
	}
	return raw
}
