package dialect

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Translation is an Ollama request (chat, generate, embed, embeddings)
// rewritten for an engine that speaks only the OpenAI API, and what the
// proxy needs to turn that engine's answer back into the Ollama answer the
// client expects (see Answer and NewStream).
//
// What maps: /api/chat to /v1/chat/completions; /api/generate to
// /v1/chat/completions as one user message (after a system message when
// the request has one), so that the engine applies the model's chat
// template as Ollama's generate does, or to /v1/completions when the
// request asks for raw text (raw or suffix); /api/embed and /api/embeddings
// to /v1/embeddings. The options temperature, top_p, num_predict
// (max_tokens), stop, seed, frequency_penalty and presence_penalty; format
// "json" or a JSON schema (response_format); images (data URL parts);
// tools and tool calls; in answers, a thinking model's reasoning (Ollama's
// thinking). Everything else Ollama reads (top_k, num_ctx,
// keep_alive, think, context, template...) has no OpenAI counterpart and
// is left out.
type Translation struct {
	// Engine is the OpenAI route the request goes to.
	Engine *Route
	// Body is the request for it.
	Body []byte
	// Model is the model the client named.
	Model string
	// Stream says the client asked for a stream (Ollama's default).
	Stream bool

	answer answerKind
}

// answerKind is the shape of Ollama answer the client waits for.
type answerKind uint8

const (
	answerChat       answerKind = iota // message
	answerGenerate                     // response
	answerEmbed                        // embeddings
	answerEmbeddings                   // embedding (the older route)
)

// Translates says whether the gateway translates requests on r for an
// engine of the given dialect: the Ollama chat, generate and embedding
// routes, for OpenAI engines. (OpenAI routes need none: Ollama serves them.)
func (r *Route) Translates(dialect string) bool {
	if r.Accepts(dialect) {
		return false
	}
	switch r.Path {
	case "/api/chat", "/api/generate", "/api/embed", "/api/embeddings":
		return true
	}
	return false
}

// FieldError is a request body that does not read as the route's request;
// Field names the field at fault, "" for the body as a whole.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// ollamaRequest is a request of any of the four translated routes.
type ollamaRequest struct {
	Model    string          `json:"model"`
	Messages []ollamaMessage `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
	Format   json.RawMessage `json:"format"`
	Options  *ollamaOptions  `json:"options"`
	Stream   *bool           `json:"stream"`
	// generate
	Prompt *string  `json:"prompt"`
	System string   `json:"system"`
	Images []string `json:"images"`
	Raw    bool     `json:"raw"`
	Suffix string   `json:"suffix"`
	// embed
	Input      json.RawMessage `json:"input"`
	Dimensions *int            `json:"dimensions"`
}

type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Images    []string         `json:"images"`
	ToolCalls []ollamaToolCall `json:"tool_calls"`
	ToolName  string           `json:"tool_name"`
}

type ollamaToolCall struct {
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type ollamaOptions struct {
	Temperature      *float64 `json:"temperature"`
	TopP             *float64 `json:"top_p"`
	NumPredict       *int     `json:"num_predict"`
	Stop             []string `json:"stop"`
	Seed             *int     `json:"seed"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	PresencePenalty  *float64 `json:"presence_penalty"`
}

// openaiRequest is what an OpenAI engine is sent. Fields left empty are
// not sent, so the engine's defaults apply.
type openaiRequest struct {
	Model            string          `json:"model"`
	Messages         []openaiMessage `json:"messages,omitempty"`
	Prompt           *string         `json:"prompt,omitempty"`
	Suffix           string          `json:"suffix,omitempty"`
	Input            json.RawMessage `json:"input,omitempty"`
	Dimensions       *int            `json:"dimensions,omitempty"`
	Stream           bool            `json:"stream,omitempty"`
	StreamOptions    *streamOptions  `json:"stream_options,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"top_p,omitempty"`
	MaxTokens        *int            `json:"max_tokens,omitempty"`
	Stop             []string        `json:"stop,omitempty"`
	Seed             *int            `json:"seed,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	ResponseFormat   json.RawMessage `json:"response_format,omitempty"`
	Tools            json.RawMessage `json:"tools,omitempty"`
}

type streamOptions struct {
	// IncludeUsage asks for a last chunk with the token counts, which
	// Ollama's final line carries.
	IncludeUsage bool `json:"include_usage"`
}

type openaiMessage struct {
	Role string `json:"role"`
	// Content is a string, or a list of parts when there are images.
	Content    any              `json:"content"`
	ToolCalls  []openaiToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

type openaiToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
		// Arguments is JSON text in a string, where Ollama has an object.
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

// Translate rewrites body, an Ollama request on r (see Translates), as the
// request an OpenAI engine serves. A body that does not read as r's request
// fails with a *FieldError.
func Translate(r *Route, body []byte) (*Translation, error) {
	var in ollamaRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, requestError(err)
	}
	t := &Translation{Model: in.Model, Stream: in.Stream == nil || *in.Stream}
	out := openaiRequest{Model: in.Model}
	switch r.Path {
	case "/api/chat":
		t.answer = answerChat
		msgs, err := chatMessages(in.Messages)
		if err != nil {
			return nil, err
		}
		out.Messages = msgs
		if string(in.Tools) != "null" {
			out.Tools = in.Tools
		}
	case "/api/generate":
		t.answer = answerGenerate
		prompt := ""
		if in.Prompt != nil {
			prompt = *in.Prompt
		}
		if in.Raw || in.Suffix != "" {
			// Text to continue as it is, no template: what a completion is.
			out.Prompt, out.Suffix = &prompt, in.Suffix
			break
		}
		if in.System != "" {
			out.Messages = append(out.Messages, openaiMessage{Role: "system", Content: in.System})
		}
		user, err := withImages(prompt, in.Images, "images")
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, openaiMessage{Role: "user", Content: user})
	case "/api/embed":
		t.answer, t.Stream = answerEmbed, false
		if err := checkInput(in.Input); err != nil {
			return nil, err
		}
		out.Input, out.Dimensions = in.Input, in.Dimensions
	case "/api/embeddings":
		t.answer, t.Stream = answerEmbeddings, false
		prompt := ""
		if in.Prompt != nil {
			prompt = *in.Prompt
		}
		out.Input, _ = json.Marshal(prompt)
	default:
		return nil, fmt.Errorf("%s is not a translated route", r.Path)
	}
	t.Engine = routes["/v1/chat/completions"]
	switch {
	case t.answer == answerEmbed || t.answer == answerEmbeddings:
		t.Engine = routes["/v1/embeddings"]
	case out.Prompt != nil:
		t.Engine = routes["/v1/completions"]
	}
	if t.answer == answerChat || t.answer == answerGenerate {
		if t.Stream {
			out.Stream, out.StreamOptions = true, &streamOptions{IncludeUsage: true}
		}
		setOptions(&out, in.Options)
		rf, err := responseFormat(in.Format)
		if err != nil {
			return nil, err
		}
		out.ResponseFormat = rf
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode translated request: %w", err)
	}
	t.Body = b
	return t, nil
}

// requestError says what is wrong with a body that did not read.
func requestError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return &FieldError{Message: "request body is not valid JSON"}
	}
	if typeErr.Field == "" {
		return &FieldError{Message: "request body is not valid JSON: the body must be a JSON object"}
	}
	return &FieldError{Field: typeErr.Field, Message: fmt.Sprintf("field %q must be %s", typeErr.Field, kindName(typeErr.Type.Kind().String()))}
}

func kindName(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}
