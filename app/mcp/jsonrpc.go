package mcp

import (
	"bytes"
	"encoding/json"
)

// ToolCall is one JSON-RPC "tools/call" request a client sent.
type ToolCall struct {
	// ID is the request's id as the client wrote it (a string or a
	// number), compacted: the key its response is matched by.
	ID        string
	Name      string
	Arguments json.RawMessage // the arguments object, or nil
}

// Reply is one JSON-RPC response: the result or the error of the request
// with ID.
type Reply struct {
	ID     string
	Result json.RawMessage
	Error  *RPCError
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// message is any JSON-RPC 2.0 message: a request, a notification or a
// response.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// messages reads a JSON-RPC body: one message or a batch (an array). A
// body that is neither, or a batch item that is not an object, yields what
// could be read: the relay records what it understands and passes the
// bytes on unchanged whatever they are.
func messages(body []byte) []message {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '[' {
		var raw []json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return nil
		}
		out := make([]message, 0, len(raw))
		for _, r := range raw {
			var m message
			if json.Unmarshal(r, &m) == nil {
				out = append(out, m)
			}
		}
		return out
	}
	var m message
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return []message{m}
}

// idKey is the compact form of a request id: a string or a number. Any
// other id (null, an object, none) is "": such a request gets no response
// the relay could match.
func idKey(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		b, _ := json.Marshal(s) // one spelling for "\u0041" and "A"
		return string(b)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return ""
		}
		return n.String()
	}
	return ""
}

// ParseToolCalls finds the tools/call requests of a client's JSON-RPC
// body, single or batch. Requests without an id (notifications) and calls
// without a tool name are left out.
func ParseToolCalls(body []byte) []ToolCall {
	var calls []ToolCall
	for _, m := range messages(body) {
		if m.Method != "tools/call" {
			continue
		}
		id := idKey(m.ID)
		if id == "" {
			continue
		}
		var p struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if json.Unmarshal(m.Params, &p) != nil || p.Name == "" {
			continue
		}
		args := bytes.TrimSpace(p.Arguments)
		if len(args) == 0 || bytes.Equal(args, []byte("null")) {
			args = nil
		}
		calls = append(calls, ToolCall{ID: id, Name: p.Name, Arguments: args})
	}
	return calls
}

// ParseReplies finds the responses in a server's JSON-RPC body, single or
// batch: messages with an id and a result or an error, and no method.
func ParseReplies(body []byte) []Reply {
	var out []Reply
	for _, m := range messages(body) {
		if m.Method != "" || (m.Result == nil && m.Error == nil) {
			continue
		}
		id := idKey(m.ID)
		if id == "" {
			continue
		}
		out = append(out, Reply{ID: id, Result: m.Result, Error: m.Error})
	}
	return out
}
