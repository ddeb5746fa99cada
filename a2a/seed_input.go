package a2a

import (
	"bytes"
	"encoding/json"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// seedInput is the members of a seed task's input the gateway reads.
type seedInput struct {
	Text     *string         `json:"text"`
	Message  json.RawMessage `json:"message"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func readInput(input json.RawMessage) (map[string]json.RawMessage, seedInput, error) {
	var members map[string]json.RawMessage
	var in seedInput
	if jsonKind(input) != 'o' || json.Unmarshal(input, &members) != nil {
		return nil, in, attach.Invalid("input", "must be a JSON object")
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, in, attach.Invalid("input", "cannot be read: "+err.Error())
	}
	return members, in, nil
}

// seedText is the input's prompt as plain text: "text", or "message" when
// it is a string, or the "messages" of a chat (one message's content
// alone; several as "role: content" lines). ok is false when it has none.
func (in seedInput) seedText() (string, bool) {
	if in.Text != nil {
		return *in.Text, true
	}
	var s string
	if len(in.Message) > 0 && json.Unmarshal(in.Message, &s) == nil {
		return s, true
	}
	switch len(in.Messages) {
	case 0:
		return "", false
	case 1:
		return in.Messages[0].Content, true
	}
	lines := make([]string, 0, len(in.Messages))
	for _, m := range in.Messages {
		lines = append(lines, m.Role+": "+m.Content)
	}
	return strings.Join(lines, "\n"), true
}

// EngineBody is the request a seed task's input makes on an engine route.
// The input is the route's body; a chat without "messages" gets one user
// message of "text" (or "message"), a completion without "prompt" gets it
// as its prompt. The answer is always asked whole ("stream": false): no
// one is there to read a stream.
func EngineBody(route string, input json.RawMessage) ([]byte, error) {
	members, in, err := readInput(input)
	if err != nil {
		return nil, err
	}
	r, ok := dialect.Lookup(route)
	if !ok {
		return nil, attach.Invalid("target_url", "names no engine route")
	}
	text, hasText := in.seedText()
	switch {
	case r.Kind == dialect.Chat && members["messages"] == nil:
		if !hasText {
			return nil, attach.Invalid("input", `a chat needs "messages" (or "text")`)
		}
		members["messages"], _ = json.Marshal([]map[string]string{{"role": "user", "content": text}})
	case r.Kind == dialect.Completion && members["prompt"] == nil:
		if !hasText {
			return nil, attach.Invalid("input", `a completion needs "prompt" (or "text")`)
		}
		members["prompt"], _ = json.Marshal(text)
	}
	delete(members, "text")
	if r.Kind == dialect.Chat {
		delete(members, "message")
	}
	members["stream"] = json.RawMessage("false")
	return json.Marshal(members)
}

// AgentMessage is the A2A message (0.3 shape, role user) a seed task's
// input makes for an agent:
//   - "message" that is an A2A message (it has "parts") is sent as it is,
//     as a new task (any taskId or contextId dropped);
//   - "text", "message" as a string, or chat "messages" become one text
//     part (see seedText);
//   - any other input is sent whole as one data part.
func AgentMessage(input json.RawMessage) (json.RawMessage, error) {
	_, in, err := readInput(input)
	if err != nil {
		return nil, err
	}
	id, err := attach.NewID()
	if err != nil {
		return nil, err
	}
	msg := map[string]any{"kind": "message", "role": "user", "messageId": id}
	var given map[string]json.RawMessage
	if jsonKind(in.Message) == 'o' && json.Unmarshal(in.Message, &given) == nil && given["parts"] != nil {
		if jsonKind(given["parts"]) != 'a' {
			return nil, attach.Invalid("input", `message.parts must be a list of A2A parts`)
		}
		for k, v := range given {
			switch k {
			case "taskId", "contextId", "kind", "role":
			case "messageId":
				if jsonKind(v) == 's' {
					msg[k] = v
				}
			default:
				msg[k] = v
			}
		}
	} else if text, ok := in.seedText(); ok {
		msg["parts"] = []any{map[string]any{"kind": "text", "text": text}}
	} else {
		msg["parts"] = []any{map[string]any{"kind": "data", "data": json.RawMessage(bytes.TrimSpace(input))}}
	}
	return json.Marshal(msg)
}
