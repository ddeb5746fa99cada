package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	attach "github.com/attach-dev/attach-gateway"
)

// errInvalidJSON marks a request body the model could not be read from.
var errInvalidJSON = errors.New("request body is not valid JSON")

// Model returns the model a request body to r names, "" when it names none
// or the body is empty. Field names match as encoding/json matches them,
// as Ollama reads them: ignoring case, the last of a repeated one winning.
func (r *Route) Model(body []byte) (string, error) {
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return "", nil
	}
	var req struct {
		Model string `json:"model"`
		// Name is how older clients of /api/show name the model.
		Name json.RawMessage `json:"name"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", modelError(err)
	}
	if req.Model != "" || r.Path != "/api/show" || req.Name == nil {
		return req.Model, nil
	}
	var name string
	if err := json.Unmarshal(req.Name, &name); err != nil {
		return "", fmt.Errorf("%w: field \"name\" must be a string", errInvalidJSON)
	}
	return name, nil
}

// modelError says what is wrong with a body whose model did not read.
func modelError(err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case !errors.As(err, &typeErr):
		return errInvalidJSON
	case typeErr.Field == "":
		return fmt.Errorf("%w: the body must be a JSON object", errInvalidJSON)
	}
	return fmt.Errorf("%w: field %q must be a string", errInvalidJSON, typeErr.Field)
}

// Prompt is the new turn of a chat or completion request: for a chat its
// last message (the history before it was new once), for a completion its
// prompt.
type Prompt struct {
	Role, Text string
	// Model is the model the request names.
	Model string
	// Stream tells whether the answer streams.
	Stream bool
	// Chat tells a list of messages, of which there were Messages.
	Chat     bool
	Messages int
	// Unparsed: the body did not read, and Text is the body as it came.
	Unparsed bool
}

// request is a chat or completion request of either dialect.
type request struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Prompt   *text     `json:"prompt"`
	Stream   *bool     `json:"stream"`
}

type message struct {
	Role    string `json:"role"`
	Content text   `json:"content"`
}

// ReadPrompt reads the request body of an exchange on path.
func ReadPrompt(path string, body []byte) Prompt {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		// The proxy only forwards JSON, so this is an engine route that
		// takes something else; keep the text as it came.
		return Prompt{Text: string(body), Unparsed: true}
	}
	r, known := Lookup(path)
	// Ollama streams unless told not to, OpenAI only when asked.
	p := Prompt{Model: req.Model, Stream: known && r.Dialect == attach.DialectOllama}
	if req.Stream != nil {
		p.Stream = *req.Stream
	}
	if (known && r.Kind == Chat) || (len(req.Messages) > 0 && req.Prompt == nil) {
		p.Chat, p.Messages = true, len(req.Messages)
		if p.Messages > 0 {
			last := req.Messages[p.Messages-1]
			p.Role, p.Text = last.Role, string(last.Content)
		}
		return p
	}
	p.Role = "user"
	if req.Prompt != nil {
		p.Text = string(*req.Prompt)
	}
	return p
}
