package a2a

import "encoding/json"

// errorReasons are the google.rpc.ErrorInfo reasons 1.0 gives error codes.
// 1.0 reports a malformed request, whatever its JSON-RPC code, as invalid
// params.
var errorReasons = map[int]string{
	CodeParseError:                "INVALID_PARAMS",
	CodeInvalidRequest:            "INVALID_PARAMS",
	CodeInvalidParams:             "INVALID_PARAMS",
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
// Codes mean the same in both versions and are kept; data differs:
//
//   - 1.0 sends an array of google.rpc detail objects, the A2A ErrorInfo
//     (reason, domain, string metadata) among them.
//   - 0.3 clients read data only as an object (the Go SDK fails on any
//     other), and the Go SDK shows data.error as the error's detail.
//
// Towards 0.3, the metadata of the A2A ErrorInfo becomes the object's
// members, error defaults to the message so a 0.3 client shows it, and any
// other details go under "details"; data that is neither array nor object
// is kept under "value". Towards 1.0, an error with a known reason gets an
// ErrorInfo whose metadata holds the 0.3 object's members (values that are
// not strings written as JSON), followed by the 0.3 "details" if any; other
// data is passed as it is. The input is not modified.
func TranslateError(from, to string, e *RPCError) *RPCError {
	if e == nil || from == to || checkVersions(from, to) != nil {
		return e
	}
	out := *e
	out.Data = nil
	var data any
	if len(e.Data) > 0 {
		var err error
		if data, err = decode(e.Data); err != nil {
			// Data that is not JSON cannot be passed on as JSON.
			data = nil
		}
	}
	if to == V03 {
		out.Data = errorDataTo03(e.Message, data)
	} else {
		out.Data = errorDataTo10(e.Code, data)
	}
	return &out
}

func errorDataTo03(message string, data any) json.RawMessage {
	switch d := data.(type) {
	case nil:
		return nil
	case map[string]any:
		return mustEncode(d)
	case []any:
		out := map[string]any{}
		var rest []any
		for _, detail := range d {
			info, ok := detail.(map[string]any)
			if !ok || info["@type"] != errorInfoType || info["domain"] != errorInfoDomain {
				rest = append(rest, detail)
				continue
			}
			if md, ok := info["metadata"].(map[string]any); ok {
				for k, v := range md {
					out[k] = v
				}
			}
		}
		if len(rest) > 0 {
			out["details"] = rest
		}
		if _, ok := out["error"]; !ok && message != "" {
			out["error"] = message
		}
		return mustEncode(out)
	default:
		return mustEncode(map[string]any{"value": d})
	}
}

func errorDataTo10(code int, data any) json.RawMessage {
	reason, known := errorReasons[code]
	obj, isObject := data.(map[string]any)
	if !known || (data != nil && !isObject) {
		if data == nil {
			return nil
		}
		return mustEncode(data)
	}
	info := map[string]any{"@type": errorInfoType, "reason": reason, "domain": errorInfoDomain}
	details := []any{info}
	md := map[string]any{}
	for k, v := range obj {
		if list, ok := v.([]any); ok && k == "details" {
			details = append(details, list...)
			continue
		}
		if s, ok := v.(string); ok {
			md[k] = s
		} else if raw, err := encode(v); err == nil {
			// ErrorInfo metadata holds strings only.
			md[k] = string(raw)
		}
	}
	if len(md) > 0 {
		info["metadata"] = md
	}
	return mustEncode(details)
}

// mustEncode encodes trees made of decoded JSON, which always encode.
func mustEncode(v any) json.RawMessage {
	raw, err := encode(v)
	if err != nil {
		return nil
	}
	return raw
}
