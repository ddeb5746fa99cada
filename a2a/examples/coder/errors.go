package coder

// JSON-RPC and A2A error codes the coder answers with.
const (
	codeParseError          = -32700
	codeInvalidRequest      = -32600
	codeMethodNotFound      = -32601
	codeInvalidParams       = -32602
	codeInternal            = -32603
	codeTaskNotFound        = -32001
	codeTaskNotCancelable   = -32002
	codeVersionNotSupported = -32009
)

// reasons name each code in the error's google.rpc.ErrorInfo.
var reasons = map[int]string{
	codeParseError:          "PARSE_ERROR",
	codeInvalidRequest:      "INVALID_REQUEST",
	codeMethodNotFound:      "METHOD_NOT_FOUND",
	codeInvalidParams:       "INVALID_PARAMS",
	codeInternal:            "INTERNAL_ERROR",
	codeTaskNotFound:        "TASK_NOT_FOUND",
	codeTaskNotCancelable:   "TASK_NOT_CANCELABLE",
	codeVersionNotSupported: "VERSION_NOT_SUPPORTED",
}

func newError(code int, msg string) *rpcError {
	return &rpcError{Code: code, Message: msg, Data: []errorInfo{{
		Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: reasons[code], Domain: "a2a-protocol.org",
	}}}
}
