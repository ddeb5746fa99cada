package coder

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxBody bounds a JSON-RPC request.
const maxBody = 1 << 20

type server struct {
	cfg   Config
	tasks *taskList
}

// rpc answers one JSON-RPC request. Protocol errors are JSON-RPC error
// objects with HTTP 200, as A2A says.
func (s *server) rpc(w http.ResponseWriter, r *http.Request) {
	resp := s.handle(r)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *server) handle(r *http.Request) rpcResponse {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return failed(nil, newError(codeParseError, "the request body could not be read"))
	}
	if len(body) > maxBody {
		return failed(nil, newError(codeInvalidRequest, "the request is larger than 1 MiB"))
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		if !json.Valid(body) {
			return failed(nil, newError(codeParseError, "the body is not JSON"))
		}
		return failed(nil, newError(codeInvalidRequest, "the body is not a JSON-RPC request object"))
	}
	if !validID(req.ID) {
		return failed(nil, newError(codeInvalidRequest, "id must be a string, a number or null"))
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		return failed(req.ID, newError(codeInvalidRequest, `a JSON-RPC 2.0 request needs "jsonrpc":"2.0" and a method`))
	}
	// A request without A2A-Version is a 0.3 one; this agent speaks 1.0.
	if v := r.Header.Get("A2A-Version"); v != "1.0" && v != "1" {
		if v == "" {
			v = "0.3"
		}
		return failed(req.ID, newError(codeVersionNotSupported,
			"The requested A2A protocol version '"+v+"' is not supported. Supported versions: 1.0"))
	}
	switch req.Method {
	case "SendMessage":
		var p sendParams
		if err := decodeParams(req.Params, &p); err != nil {
			return failed(req.ID, newError(codeInvalidParams, "params: "+err.Error()))
		}
		if e := checkMessage(p.Message); e != nil {
			return failed(req.ID, e)
		}
		if p.Message.TaskID != "" {
			if _, ok := s.tasks.get(p.Message.TaskID); !ok {
				return failed(req.ID, newError(codeTaskNotFound, "Task not found: "+p.Message.TaskID))
			}
			return failed(req.ID, newError(codeInvalidParams, "the task is finished; send a new message without taskId"))
		}
		t := s.run(r, p.Message)
		return rpcResponse{JSONRPC: "2.0", ID: req.ID, Result: sendResult{Task: t}}
	case "GetTask":
		var p taskIDParams
		if err := decodeParams(req.Params, &p); err != nil || p.ID == "" {
			return failed(req.ID, newError(codeInvalidParams, "params: id is required"))
		}
		t, ok := s.tasks.get(p.ID)
		if !ok {
			return failed(req.ID, newError(codeTaskNotFound, "Task not found: "+p.ID))
		}
		if p.HistoryLength != nil && *p.HistoryLength >= 0 && len(t.History) > *p.HistoryLength {
			t.History = t.History[len(t.History)-*p.HistoryLength:]
		}
		return rpcResponse{JSONRPC: "2.0", ID: req.ID, Result: t}
	case "CancelTask":
		var p taskIDParams
		if err := decodeParams(req.Params, &p); err != nil || p.ID == "" {
			return failed(req.ID, newError(codeInvalidParams, "params: id is required"))
		}
		if _, ok := s.tasks.get(p.ID); !ok {
			return failed(req.ID, newError(codeTaskNotFound, "Task not found: "+p.ID))
		}
		// Every task is done by the time SendMessage answers.
		return failed(req.ID, newError(codeTaskNotCancelable, "Task "+p.ID+" is finished and cannot be canceled"))
	}
	return failed(req.ID, newError(codeMethodNotFound, "Method not found: "+req.Method))
}

func failed(id json.RawMessage, e *rpcError) rpcResponse {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	return rpcResponse{JSONRPC: "2.0", ID: id, Error: e}
}

// validID reports whether a JSON-RPC id is absent, a string, a number or
// null.
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || string(id) == "null" {
		return true
	}
	var v any
	if json.Unmarshal(id, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

// decodeParams reads params, which must be a JSON object.
func decodeParams(raw json.RawMessage, into any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errString("must be an object")
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return errString("do not match the method's shape")
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// checkMessage says what is wrong with a message sent to the agent.
func checkMessage(m *message) *rpcError {
	switch {
	case m == nil:
		return newError(codeInvalidParams, "message is required.")
	case m.MessageID == "":
		return newError(codeInvalidParams, "message.messageId is required.")
	case m.Role != roleUser:
		return newError(codeInvalidParams, "message.role must be ROLE_USER.")
	case len(m.Parts) == 0:
		return newError(codeInvalidParams, "message.parts must not be empty.")
	}
	for _, p := range m.Parts {
		if strings.TrimSpace(p.Text) == "" && len(p.Data) == 0 {
			return newError(codeInvalidParams, "message.parts: each part needs text or data.")
		}
	}
	return nil
}

// taskList keeps the latest tasks by id, forgetting the oldest past max.
type taskList struct {
	mu    sync.Mutex
	max   int
	byID  map[string]task
	order []string
}

func newTaskList(max int) *taskList { return &taskList{max: max, byID: map[string]task{}} }

func (l *taskList) put(t task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byID[t.ID]; !ok {
		l.order = append(l.order, t.ID)
	}
	l.byID[t.ID] = t
	for len(l.order) > l.max {
		delete(l.byID, l.order[0])
		l.order = l.order[1:]
	}
}

func (l *taskList) get(id string) (task, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.byID[id]
	return t, ok
}
