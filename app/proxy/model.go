package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The only parts of a request body the proxy reads: the rest goes to the
// engine untouched.
type modelField struct {
	Model string `json:"model"`
}

type modelOrName struct {
	Model string `json:"model"`
	Name  string `json:"name"` // legacy spelling of /api/show
}

// errInvalidJSON marks a body the proxy could not read a model from.
var errInvalidJSON = errors.New("request body is not valid JSON")

// modelOf returns the model a request body asks for, "" when it names none.
// withName accepts the legacy "name" field when "model" is absent.
func modelOf(body []byte, withName bool) (string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	if !withName {
		var f modelField
		if err := json.Unmarshal(body, &f); err != nil {
			return "", bodyError(err)
		}
		return f.Model, nil
	}
	var f modelOrName
	if err := json.Unmarshal(body, &f); err != nil {
		return "", bodyError(err)
	}
	if f.Model == "" {
		return f.Name, nil
	}
	return f.Model, nil
}

// bodyError says what is wrong with a body without quoting it: it may hold
// a prompt the logs must not keep.
func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("%w: the body must be a JSON object", errInvalidJSON)
		}
		return fmt.Errorf("%w: field %q must be a string", errInvalidJSON, te.Field)
	}
	return errInvalidJSON
}
