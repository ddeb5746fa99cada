package dialect

import (
	"encoding/json"
	"strings"
)

// text is the text of a message's content or of a prompt: a string, or a
// list of strings (OpenAI completion prompts) or of parts (OpenAI
// multimodal messages) whose texts are joined one per line. A value of
// any other kind has no text, and is no error: the rest of its body still
// reads.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		return json.Unmarshal(b, (*string)(t))
	case '[':
		var parts []part
		if json.Unmarshal(b, &parts) != nil {
			return nil
		}
		var texts []string
		for _, p := range parts {
			if p.ok {
				texts = append(texts, p.text)
			}
		}
		*t = text(strings.Join(texts, "\n"))
	}
	return nil
}

// part is one element of a list of texts: a string, even empty, or a
// part of type text with text in it. Others (images, audio) have no text.
type part struct {
	text string
	ok   bool
}

func (p *part) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		p.ok = json.Unmarshal(b, &p.text) == nil
	case '{':
		var v struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(b, &v) == nil && v.Text != "" && (v.Type == "" || v.Type == "text" || v.Type == "input_text") {
			p.text, p.ok = v.Text, true
		}
	}
	return nil
}
