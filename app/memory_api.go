package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
)

// memCaller is who asks, as authenticate verified it.
type memCaller struct {
	TeamID, User, Session string
	// Admin is set when the caller holds the memory:admin scope: it may
	// read and erase every user's events, not only its own.
	Admin bool
}

// memoryAPI serves the memory routes (memoryRoutes), each for the caller
// the gateway verified.
type memoryAPI struct {
	store *memory.Store
	log   *slog.Logger
}

// Codes the memory API answers with where the gateway's own would differ
// (see attach.Error's Reason): invalid_request for any bad input, and its
// own names for a backend that did not answer and for a failure of ours.
const (
	codeInvalidRequest = "invalid_request"
	codeMemUnavailable = "memory_unavailable"
	codeInternal       = "internal_error"
)

// maxField bounds the short texts a client may set on an event.
const maxField = 200

// maxLogLines and maxLogsBody bound one request of log lines.
const (
	maxLogLines = 1000
	maxLogsBody = 4 << 20
)

// badRequest answers a malformed query: 400 invalid_request.
func badRequest(msg string) error {
	return &attach.Error{Code: attach.CodeBadRequest, Reason: codeInvalidRequest, Message: msg}
}

// invalidRequest answers a body that cannot be stored: 422 invalid_request.
func invalidRequest(msg string) error {
	return &attach.Error{Code: attach.CodeInvalid, Reason: codeInvalidRequest, Message: msg}
}

// fail turns an error of the store into the API's answer, never with its
// internals: the gateway's error handler writes it, and logs a failure of
// ours.
func (a *memoryAPI) fail(err error) error {
	switch attach.ErrorCode(err) {
	case attach.CodeInvalid:
		e := attach.AsError(err)
		return invalidRequest(e.Field + ": " + e.Message)
	case attach.CodeNotFound:
		return attach.NotFound("event")
	case attach.CodeDisabled:
		return err
	case attach.CodeUnavailable:
		a.log.Warn("memory search failed", "err", err)
		return &attach.Error{Code: attach.CodeUnavailable, Reason: codeMemUnavailable, Message: "the team's memory backend did not answer; try again"}
	}
	return &attach.Error{Code: attach.CodeInternal, Reason: codeInternal, Message: "internal error", Err: err}
}

type eventsPage struct {
	Events []attach.Event `json:"events"`
	Next   string         `json:"next"`
}

// ListEvents answers GET /mem/events: the team's events, newest first,
// filtered by session, user, kind and task, one page of limit (1..200,
// default 50) after the cursor before, or the best matches of q. A caller
// without memory:admin sees only its own events.
func (a *memoryAPI) ListEvents(c *fiber.Ctx, who memCaller) error {
	f := memory.Filter{
		TeamID:  who.TeamID,
		Session: c.Query("session"),
		User:    c.Query("user"),
		Kind:    c.Query("kind"),
		TaskID:  c.Query("task"),
		Before:  c.Query("before"),
	}
	if !who.Admin {
		if who.User == "" {
			return attach.Errorf(attach.CodeForbidden, "listing events needs a user identity or the memory:admin scope")
		}
		if f.User != "" && f.User != who.User {
			return attach.Errorf(attach.CodeForbidden, "reading another user's events needs the memory:admin scope")
		}
		f.User = who.User
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > memory.MaxLimit {
			return badRequest("limit: must be a number from 1 to 200")
		}
		f.Limit = n
	}
	if f.Before != "" && !attach.ValidID(f.Before) {
		return badRequest("before: is not a cursor from a previous page")
	}
	if f.Kind != "" && !attach.ValidKind(f.Kind) {
		return badRequest("kind: must be one of prompt, response, task_sent, task_result, log, note")
	}
	page := eventsPage{Events: []attach.Event{}}
	if q := strings.TrimSpace(c.Query("q")); q != "" {
		list, err := a.store.Search(c.UserContext(), q, f)
		if err != nil {
			return a.fail(err)
		}
		page.Events = append(page.Events, list...)
		return c.JSON(page)
	}
	list, next, err := a.store.List(c.UserContext(), f)
	if err != nil {
		return a.fail(err)
	}
	page.Events, page.Next = append(page.Events, list...), next
	return c.JSON(page)
}

// GetEvent answers GET /mem/events/:id. Another team's event, and for a
// caller without memory:admin another user's, is not found.
func (a *memoryAPI) GetEvent(c *fiber.Ctx, who memCaller) error {
	e, err := a.store.Get(c.UserContext(), who.TeamID, c.Params("id"))
	if err != nil {
		return a.fail(err)
	}
	if !who.Admin && (e.User != who.User || who.User == "") {
		return attach.NotFound("event")
	}
	return c.JSON(e)
}

// newEvent is the body of POST /mem/events.
type newEvent struct {
	Kind     string          `json:"kind"`
	Content  string          `json:"content"`
	Session  string          `json:"session"`
	Role     string          `json:"role"`
	TaskID   string          `json:"task_id"`
	Metadata json.RawMessage `json:"metadata"`
}

type addedEvent struct {
	MemID string       `json:"mem_id"`
	Event attach.Event `json:"event"`
}

// AddEvent answers POST /mem/events: an agent stores a note (or a log
// line, a task hand-off or result) and gets its id back. The user and team
// are the caller's; the session is the caller's unless the body names one.
func (a *memoryAPI) AddEvent(c *fiber.Ctx, who memCaller) error {
	body := c.Body()
	if len(body) > a.maxBody() {
		return attach.Errorf(attach.CodeTooLarge, "the body is larger than %d bytes", a.maxBody())
	}
	var in newEvent
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return attach.Errorf(attach.CodeInvalidJSON, "the body is not a valid event: %s", jsonProblem(err))
	}
	if d.More() {
		return attach.Errorf(attach.CodeInvalidJSON, "the body has data after the event")
	}
	switch in.Kind {
	case "":
		in.Kind = attach.KindNote
	case attach.KindNote, attach.KindLog, attach.KindTaskSent, attach.KindTaskResult:
	default:
		return invalidRequest("kind: must be note, log, task_sent or task_result")
	}
	for name, v := range map[string]string{"session": in.Session, "role": in.Role, "task_id": in.TaskID} {
		if len(v) > maxField {
			return invalidRequest(fmt.Sprintf("%s: must be at most %d bytes", name, maxField))
		}
	}
	if m := bytes.TrimSpace(in.Metadata); len(m) > 0 && m[0] != '{' && string(m) != "null" {
		return invalidRequest("metadata: must be a JSON object")
	}
	if in.Session == "" {
		in.Session = who.Session
	}
	e, err := a.store.Add(c.UserContext(), attach.Event{
		TeamID: who.TeamID, User: who.User, Session: in.Session, Kind: in.Kind,
		Role: in.Role, Content: in.Content, TaskID: in.TaskID, Metadata: in.Metadata,
	})
	if err != nil {
		return a.fail(err)
	}
	return c.Status(fiber.StatusCreated).JSON(addedEvent{MemID: e.ID, Event: e})
}

// maxBody bounds a request body: room for the largest content JSON-escaped
// (\u0000 is six bytes per byte) and its metadata.
func (a *memoryAPI) maxBody() int { return 6*a.store.MaxContent() + 2*memory.MaxMetadata + 4096 }

type erased struct {
	Deleted int `json:"deleted"`
}

// EraseUser answers DELETE /mem/events?user=U: every event of U in the
// team is deleted now, and from the sinks soon after. A caller without
// memory:admin may erase only its own events.
func (a *memoryAPI) EraseUser(c *fiber.Ctx, who memCaller) error {
	user := c.Query("user")
	if user == "" {
		return badRequest("user: name whose events to erase")
	}
	if !who.Admin && user != who.User {
		return attach.Errorf(attach.CodeForbidden, "erasing another user's events needs the memory:admin scope")
	}
	n, err := a.store.EraseUser(c.UserContext(), who.TeamID, user)
	if err != nil {
		return a.fail(err)
	}
	return c.JSON(erased{Deleted: n})
}

type acceptedLogs struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

// AddLogs answers POST /v1/logs: log lines as one JSON object, an array of
// them, or NDJSON. Each object's message (or msg, or content) text is the
// event's content and its other fields are its metadata; a line longer
// than the content limit is kept cut short.
func (a *memoryAPI) AddLogs(c *fiber.Ctx, who memCaller) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) > maxLogsBody {
		return attach.Errorf(attach.CodeTooLarge, "the body is larger than %d bytes", maxLogsBody)
	}
	lines, err := splitLogs(body)
	if err != nil {
		return attach.Errorf(attach.CodeInvalidJSON, "%s", err)
	}
	if len(lines) == 0 {
		return invalidRequest("no log lines")
	}
	if len(lines) > maxLogLines {
		return attach.Errorf(attach.CodeTooLarge, "at most %d log lines per request", maxLogLines)
	}
	events := make([]attach.Event, len(lines))
	for i, line := range lines {
		e, err := logEvent(line, a.store.MaxContent())
		if err != nil {
			return invalidRequest(fmt.Sprintf("line %d: %v", i+1, err))
		}
		e.TeamID, e.User, e.Session = who.TeamID, who.User, who.Session
		events[i] = e
	}
	added, err := a.store.AddMany(c.UserContext(), events)
	if err != nil {
		return a.fail(err)
	}
	out := acceptedLogs{Accepted: len(added), IDs: make([]string, len(added))}
	for i, e := range added {
		out.IDs[i] = e.ID
	}
	return c.Status(fiber.StatusAccepted).JSON(out)
}

// splitLogs reads a JSON array of values, or a stream of JSON values (one
// object, or NDJSON).
func splitLogs(body []byte) ([]json.RawMessage, error) {
	if len(body) > 0 && body[0] == '[' {
		var lines []json.RawMessage
		if err := json.Unmarshal(body, &lines); err != nil {
			return nil, errors.New("the body is not a JSON array of log lines: " + jsonProblem(err))
		}
		return lines, nil
	}
	var lines []json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	for d.More() {
		var line json.RawMessage
		if err := d.Decode(&line); err != nil {
			return nil, fmt.Errorf("line %d is not JSON: %s", len(lines)+1, jsonProblem(err))
		}
		lines = append(lines, line)
		if len(lines) > maxLogLines {
			break // said as too many by the caller
		}
	}
	return lines, nil
}

// logEvent turns one log object into a log event.
func logEvent(line json.RawMessage, maxContent int) (attach.Event, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber() // keep numbers as written
	var obj map[string]any
	if err := d.Decode(&obj); err != nil || obj == nil {
		return attach.Event{}, errors.New("is not a JSON object")
	}
	var content string
	found := false
	for _, key := range []string{"message", "msg", "content"} {
		if s, ok := obj[key].(string); ok && strings.TrimSpace(s) != "" {
			content, found = s, true
			delete(obj, key)
			break
		}
	}
	if !found {
		return attach.Event{}, errors.New("needs a message, msg or content text")
	}
	e := attach.Event{Kind: attach.KindLog, Content: content}
	if len(content) > maxContent {
		e.Content, e.Truncated = attach.CutUTF8(strings.ToValidUTF8(content, "\uFFFD"), maxContent), true
	}
	if len(obj) > 0 {
		meta, err := json.Marshal(obj)
		if err != nil {
			return attach.Event{}, fmt.Errorf("fields: %w", err)
		}
		e.Metadata = meta
	}
	return e, nil
}

// jsonProblem describes a decoding error without quoting the body back.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must be a %s", typ.Field, typ.Type)
		}
		return fmt.Sprintf("expected a %s", typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return attach.CutUTF8(strings.TrimPrefix(err.Error(), "json: "), 100)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ended too early"
	}
	return "malformed JSON"
}
