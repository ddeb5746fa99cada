package a2a

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Request is one JSON-RPC 2.0 request. ID and Params are kept raw so the
// relay can echo the id byte for byte and translate params lazily.
type Request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// Response is one JSON-RPC 2.0 response: Result on success, Error otherwise.
type Response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

// RPCError is the error member of a JSON-RPC response.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("jsonrpc error %d: %s", e.Code, e.Message)
}

// JSON-RPC 2.0 codes, then the A2A codes. 0.3 defines -32001 to -32007;
// 1.0 adds -32008 and -32009.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603

	CodeTaskNotFound              = -32001
	CodeTaskNotCancelable         = -32002
	CodePushNotSupported          = -32003
	CodeUnsupportedOperation      = -32004
	CodeContentTypeNotSupported   = -32005
	CodeInvalidAgentResponse      = -32006
	CodeExtendedCardNotConfigured = -32007
	CodeExtensionSupportRequired  = -32008
	CodeVersionNotSupported       = -32009
)

// JSONRPCVersion is the only value accepted in a request's jsonrpc member.
const JSONRPCVersion = "2.0"

// ParseRequest reads one JSON-RPC request body. Bytes that are not JSON are
// a parse error; JSON that is not a single request object (a batch, a
// scalar, a wrong jsonrpc, method or id) is an invalid request; params that
// are present but not an object are invalid params, since every A2A method
// takes named params. Members other than the four are ignored.
//
// When the id itself was readable it is set in the returned Request even on
// error, so the caller can answer with the same id.
func ParseRequest(body []byte) (Request, *RPCError) {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return Request{}, &RPCError{Code: CodeParseError, Message: "parse error: body is not valid JSON"}
	}
	if body[0] == '[' {
		return Request{}, &RPCError{Code: CodeInvalidRequest, Message: "invalid request: batch requests are not supported"}
	}
	if body[0] != '{' {
		return Request{}, &RPCError{Code: CodeInvalidRequest, Message: "invalid request: body is not a JSON object"}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return Request{}, &RPCError{Code: CodeParseError, Message: "parse error: " + err.Error()}
	}

	var req Request
	if id, ok := members["id"]; ok {
		switch jsonKind(id) {
		case 's', 'n':
			req.ID = compactRaw(id)
		default:
			return Request{}, invalidRequest("id must be a string or a number")
		}
	}

	var version string
	if err := json.Unmarshal(members["jsonrpc"], &version); err != nil || version != JSONRPCVersion {
		return req, invalidRequest(`jsonrpc must be "2.0"`)
	}
	req.JSONRPC = version

	raw, ok := members["method"]
	if !ok || jsonKind(raw) != 's' {
		return req, invalidRequest("method must be a string")
	}
	if err := json.Unmarshal(raw, &req.Method); err != nil || req.Method == "" {
		return req, invalidRequest("method must be a non-empty string")
	}

	if params, ok := members["params"]; ok {
		if jsonKind(params) != 'o' {
			return req, &RPCError{Code: CodeInvalidParams, Message: "invalid params: params must be an object"}
		}
		req.Params = params
	}
	return req, nil
}

func invalidRequest(why string) *RPCError {
	return &RPCError{Code: CodeInvalidRequest, Message: "invalid request: " + why}
}

// jsonKind tells the type of one valid JSON value by its first byte:
// 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '{':
		return 'o'
	case c == '[':
		return 'a'
	case c == '"':
		return 's'
	case c == 't' || c == 'f':
		return 'b'
	case c == 'n':
		return 'z'
	default:
		return 'n'
	}
}

func compactRaw(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
