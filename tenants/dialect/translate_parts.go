package dialect

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// The parts of an Ollama request that change shape on the way to an OpenAI
// engine: messages (tool calls, images), embedding input, options, format.

// chatMessages rewrites Ollama messages as OpenAI ones. Ollama's tool calls
// have no ids and its tool answers name no call; OpenAI needs both, so each
// call gets an id by its place in the chat and each tool answer answers the
// oldest call still open (of its tool, when it names one).
func chatMessages(in []ollamaMessage) ([]openaiMessage, error) {
	out := make([]openaiMessage, 0, len(in))
	type call struct{ id, name string }
	var open []call
	calls := 0
	for i, m := range in {
		field := "messages." + strconv.Itoa(i) + ".images"
		content, err := withImages(m.Content, m.Images, field)
		if err != nil {
			return nil, err
		}
		o := openaiMessage{Role: m.Role, Content: content}
		for _, tc := range m.ToolCalls {
			calls++
			c := openaiToolCall{ID: "call_" + strconv.Itoa(calls), Type: "function"}
			c.Function.Name = tc.Function.Name
			c.Function.Arguments = "{}"
			if len(tc.Function.Arguments) > 0 && string(tc.Function.Arguments) != "null" {
				c.Function.Arguments = string(tc.Function.Arguments)
			}
			o.ToolCalls = append(o.ToolCalls, c)
			open = append(open, call{c.ID, c.Function.Name})
		}
		if m.Role == "tool" {
			k := 0
			for j, c := range open {
				if m.ToolName == "" || c.name == m.ToolName {
					k = j
					break
				}
			}
			if len(open) > 0 {
				o.ToolCallID = open[k].id
				open = append(open[:k], open[k+1:]...)
			} else {
				calls++
				o.ToolCallID = "call_" + strconv.Itoa(calls)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// withImages is a message's content: its text alone, or a list of parts
// with each image (base64, as Ollama takes them) as a data URL.
func withImages(text string, images []string, field string) (any, error) {
	if len(images) == 0 {
		return text, nil
	}
	parts := make([]contentPart, 0, len(images)+1)
	if text != "" {
		parts = append(parts, contentPart{Type: "text", Text: text})
	}
	for _, img := range images {
		// The head tells the type; the rest only needs to be base64 for
		// the engine to decode it.
		head := img[:min(len(img), 64)]
		head = head[:len(head)/4*4]
		raw, err := base64.StdEncoding.DecodeString(head)
		if err != nil || len(img) < 4 || !isBase64(img) {
			return nil, &FieldError{Field: field, Message: "an image is not base64"}
		}
		mime := http.DetectContentType(raw)
		if mime == "application/octet-stream" || len(mime) < 6 || mime[:6] != "image/" {
			mime = "image/png"
		}
		parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: "data:" + mime + ";base64," + img}})
	}
	return parts, nil
}

func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// checkInput accepts what /api/embed takes: a string or a list of strings.
func checkInput(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && list != nil {
		return nil
	}
	return &FieldError{Field: "input", Message: `field "input" must be a string or a list of strings`}
}

func setOptions(out *openaiRequest, o *ollamaOptions) {
	if o == nil {
		return
	}
	out.Temperature, out.TopP, out.Seed = o.Temperature, o.TopP, o.Seed
	out.FrequencyPenalty, out.PresencePenalty = o.FrequencyPenalty, o.PresencePenalty
	out.Stop = o.Stop
	// Below zero is Ollama's "no limit" (-1) or "fill the context" (-2):
	// the engine's own limit.
	if o.NumPredict != nil && *o.NumPredict >= 0 {
		out.MaxTokens = o.NumPredict
	}
}

// responseFormat is Ollama's format as OpenAI's response_format: "json"
// for any JSON object, a JSON schema for JSON that follows it.
func responseFormat(format json.RawMessage) (json.RawMessage, error) {
	if len(format) == 0 || string(format) == "null" || string(format) == `""` {
		return nil, nil
	}
	var s string
	if json.Unmarshal(format, &s) == nil {
		if s != "json" {
			return nil, &FieldError{Field: "format", Message: `field "format" must be "json" or a JSON schema`}
		}
		return json.RawMessage(`{"type":"json_object"}`), nil
	}
	if format[0] != '{' {
		return nil, &FieldError{Field: "format", Message: `field "format" must be "json" or a JSON schema`}
	}
	return json.Marshal(map[string]any{
		"type":        "json_schema",
		"json_schema": map[string]any{"name": "response", "schema": format},
	})
}
