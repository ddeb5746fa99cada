package mcp

import (
	"bytes"
	"encoding/json"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
)

// maxRecorded bounds the arguments and the result kept of one tool call;
// longer ones are recorded cut, and said so.
const maxRecorded = 32 << 10

// pending are the tool calls of one request still waiting for their
// responses, in the order they were sent.
type pending struct {
	calls []ToolCall
	done  []bool
}

func newPending(calls []ToolCall) *pending {
	return &pending{calls: calls, done: make([]bool, len(calls))}
}

// answered is a tool call with its response.
type answered struct {
	call  ToolCall
	reply Reply
}

// match pairs replies with the calls still waiting for them.
func (p *pending) match(replies []Reply) []answered {
	var out []answered
	for _, rep := range replies {
		for i, c := range p.calls {
			if !p.done[i] && c.ID == rep.ID {
				p.done[i] = true
				out = append(out, answered{c, rep})
				break
			}
		}
	}
	return out
}

// rest are the calls no reply answered; it marks them done.
func (p *pending) rest() []ToolCall {
	var out []ToolCall
	for i, c := range p.calls {
		if !p.done[i] {
			p.done[i] = true
			out = append(out, c)
		}
	}
	return out
}

// toolCallMeta is what an event's metadata holds of a tool call.
type toolCallMeta struct {
	Server    string          `json:"server"`
	Tool      string          `json:"tool"`
	RequestID json.RawMessage `json:"request_id,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *RPCError       `json:"error,omitempty"`
	// IsError is the result's own isError: the tool ran and failed.
	IsError bool `json:"is_error,omitempty"`
	// Failure is why the gateway saw no answer (the server unreachable,
	// the stream cut).
	Failure string `json:"failure,omitempty"`
	// Cut names what was too long to keep whole.
	Cut []string `json:"cut,omitempty"`
}

// record stores the answered calls in the team's memory.
func (r *Relay) record(call Call, done []answered) {
	events := make([]attach.Event, 0, len(done))
	for _, d := range done {
		m := toolCallMeta{Server: call.Server.Name, Tool: d.call.Name, Error: d.reply.Error}
		m.Arguments = keep(&m, "arguments", d.call.Arguments)
		m.Result = keep(&m, "result", d.reply.Result)
		var text string
		if d.reply.Error != nil {
			text = "error: " + d.reply.Error.Message
		} else {
			var res struct {
				IsError bool `json:"isError"`
			}
			_ = json.Unmarshal(d.reply.Result, &res)
			m.IsError = res.IsError
			text = resultText(d.reply.Result)
		}
		if ev, ok := r.event(call, d.call, m, text); ok {
			events = append(events, ev)
		}
	}
	r.store(call, events)
}

// recordFailed stores calls that got no answer, with why.
func (r *Relay) recordFailed(call Call, calls []ToolCall, why string) {
	events := make([]attach.Event, 0, len(calls))
	for _, c := range calls {
		m := toolCallMeta{Server: call.Server.Name, Tool: c.Name, Failure: why}
		m.Arguments = keep(&m, "arguments", c.Arguments)
		if ev, ok := r.event(call, c, m, "failed: "+why); ok {
			events = append(events, ev)
		}
	}
	r.store(call, events)
}

func (r *Relay) event(call Call, c ToolCall, m toolCallMeta, outcome string) (attach.Event, bool) {
	if r.cfg.Memory == nil {
		return attach.Event{}, false
	}
	id, err := attach.NewID()
	if err != nil {
		return attach.Event{}, false
	}
	m.RequestID = json.RawMessage(c.ID)
	meta, err := json.Marshal(m)
	if err != nil {
		return attach.Event{}, false
	}
	// The content is what a search should find: the tool, what it was
	// asked and what it said.
	content := c.Name
	if len(c.Arguments) > 0 {
		content += " " + string(m.Arguments)
	}
	if outcome != "" {
		content += "\n" + outcome
	}
	return attach.Event{
		ID: id, TeamID: call.Caller.TeamID, User: call.Caller.User, Session: call.Caller.Session,
		Kind: attach.KindToolCall, Role: "tool", Engine: call.Server.Name,
		Content: content, Truncated: len(m.Cut) > 0, Metadata: meta,
	}, true
}

func (r *Relay) store(call Call, events []attach.Event) {
	if r.cfg.Memory != nil && len(events) > 0 {
		r.cfg.Memory.RecordEvents(call.Caller.TeamID, events)
	}
}

// keep is raw when it is short enough, else the first bytes as a JSON
// string, with what was cut noted in m.
func keep(m *toolCallMeta, what string, raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if len(raw) <= maxRecorded && json.Valid(raw) {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			return buf.Bytes()
		}
	}
	m.Cut = append(m.Cut, what)
	b, _ := json.Marshal(attach.CutUTF8(string(raw), maxRecorded))
	return b
}

// resultText is the text of a CallToolResult: its text content items,
// else its structured content, else the result as it came.
func resultText(result json.RawMessage) string {
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		Structured json.RawMessage `json:"structuredContent"`
	}
	if json.Unmarshal(result, &res) != nil {
		return attach.CutUTF8(string(result), maxRecorded)
	}
	var parts []string
	for _, c := range res.Content {
		if c.Type == "text" && c.Text != "" {
			parts = append(parts, c.Text)
		}
	}
	if len(parts) > 0 {
		return attach.CutUTF8(strings.Join(parts, "\n"), maxRecorded)
	}
	if len(res.Structured) > 0 {
		return attach.CutUTF8(string(res.Structured), maxRecorded)
	}
	return attach.CutUTF8(string(result), maxRecorded)
}
