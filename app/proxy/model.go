package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/attach-dev/attach-gateway/app/jsonscan"
)

// errInvalidJSON marks a body the proxy could not read a model from.
var errInvalidJSON = errors.New("request body is not valid JSON")

var (
	keyModel = []byte("model")
	keyName  = []byte("name") // legacy spelling of /api/show
)

// modelOf returns the model a request body asks for, "" when it names none.
// withName accepts the legacy "name" field when "model" is absent.
//
// Only the top-level "model" (and "name") members are read; the rest of the
// body, prompts included, is checked for validity and left alone. This runs
// on every request, so it walks the bytes instead of decoding into a struct,
// which would allocate for every nested value. Member names match without
// regard to case and the last duplicate wins, as encoding/json (and so
// Ollama) reads them.
func modelOf(body []byte, withName bool) (string, error) {
	if jsonscan.SkipSpace(body, 0) == len(body) {
		return "", nil
	}
	if !json.Valid(body) {
		return "", errInvalidJSON
	}
	i := jsonscan.SkipSpace(body, 0)
	if body[i] != '{' {
		return "", fmt.Errorf("%w: the body must be a JSON object", errInvalidJSON)
	}
	var model, name []byte
	i = jsonscan.SkipSpace(body, i+1)
	for body[i] != '}' {
		keyEnd := jsonscan.SkipString(body, i)
		key := body[i+1 : keyEnd-1]
		i = jsonscan.SkipSpace(body, keyEnd)
		i = jsonscan.SkipSpace(body, i+1) // past ':'
		valEnd := jsonscan.SkipValue(body, i)
		value := body[i:valEnd]
		if bytes.IndexByte(key, '\\') >= 0 {
			// An escaped member name: rare enough to take the slow path.
			return modelOfSlow(body, withName)
		}
		switch {
		case bytes.EqualFold(key, keyModel):
			model = value
		case withName && bytes.EqualFold(key, keyName):
			name = value
		}
		i = jsonscan.SkipSpace(body, valEnd)
		if body[i] == ',' {
			i = jsonscan.SkipSpace(body, i+1)
		}
	}
	m, err := stringValue(model, "model")
	if err != nil || m != "" || !withName {
		return m, err
	}
	return stringValue(name, "name")
}

// stringValue decodes a JSON string value; null or absent is "".
func stringValue(v []byte, field string) (string, error) {
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", nil
	case v[0] != '"':
		return "", fmt.Errorf("%w: field %q must be a string", errInvalidJSON, field)
	case bytes.IndexByte(v, '\\') < 0:
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: field %q: %w", errInvalidJSON, field, err)
	}
	return s, nil
}

// modelOfSlow decodes with encoding/json, for bodies the scanner leaves to it.
func modelOfSlow(body []byte, withName bool) (string, error) {
	var f struct {
		Model json.RawMessage `json:"model"`
		Name  json.RawMessage `json:"name"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return "", errInvalidJSON
	}
	m, err := stringValue(f.Model, "model")
	if err != nil || m != "" || !withName {
		return m, err
	}
	return stringValue(f.Name, "name")
}
