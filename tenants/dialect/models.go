package dialect

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// ListPath is where an engine of the dialect lists its models.
func ListPath(dialect string) string {
	if dialect == attach.DialectOllama {
		return "/api/tags"
	}
	return "/v1/models"
}

// OllamaList is Ollama's answer to GET /api/tags.
type OllamaList struct {
	Models []OllamaModel `json:"models"`
}

// OllamaModel is one entry of OllamaList.
type OllamaModel struct {
	Name       string          `json:"name"`
	Model      string          `json:"model"`
	ModifiedAt string          `json:"modified_at"`
	Size       int64           `json:"size"`
	Digest     string          `json:"digest"`
	Details    json.RawMessage `json:"details"`
}

// OpenAIList is OpenAI's answer to GET /v1/models.
type OpenAIList struct {
	Object string        `json:"object"`
	Data   []OpenAIModel `json:"data"`
}

// OpenAIModel is one entry of OpenAIList.
type OpenAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// emptyDetails is "details" for a model known by its name alone: clients
// of /api/tags expect the object.
var emptyDetails = json.RawMessage(`{"parent_model":"","format":"","family":"","families":null,"parameter_size":"","quantization_level":""}`)

// OllamaEntry is the /api/tags entry of a model known by its name alone.
func OllamaEntry(name string, modified time.Time) OllamaModel {
	return OllamaModel{Name: name, Model: name, ModifiedAt: modified.UTC().Format(time.RFC3339Nano), Details: emptyDetails}
}

// AsOllama is m as an /api/tags entry.
func (m OpenAIModel) AsOllama() OllamaModel {
	return OllamaEntry(m.ID, time.Unix(m.Created, 0))
}

// AsOpenAI is m as a /v1/models entry, owned by its namespace ("library"
// for Ollama's own models), as Ollama's own /v1/models says.
func (m OllamaModel) AsOpenAI() OpenAIModel {
	var created int64
	if t, err := time.Parse(time.RFC3339Nano, m.ModifiedAt); err == nil && !t.IsZero() {
		created = t.Unix()
	}
	return OpenAIModel{ID: m.Name, Object: "model", Created: created, OwnedBy: namespace(m.Name)}
}

func namespace(name string) string {
	name, _, _ = strings.Cut(name, ":")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		ns := name[:i]
		if j := strings.LastIndexByte(ns, '/'); j >= 0 {
			ns = ns[j+1:]
		}
		return ns
	}
	return "library"
}

// Models is an engine's model list, read in its own dialect: only that
// dialect's list is set.
type Models struct {
	Ollama []OllamaModel
	OpenAI []OpenAIModel
}

// AsOllama is the list as /api/tags entries, an OpenAI engine's converted.
func (m Models) AsOllama() []OllamaModel {
	out := slices.Clone(m.Ollama)
	for _, x := range m.OpenAI {
		out = append(out, x.AsOllama())
	}
	return out
}

// AsOpenAI is the list as /v1/models entries, an Ollama engine's converted.
func (m Models) AsOpenAI() []OpenAIModel {
	out := slices.Clone(m.OpenAI)
	for _, x := range m.Ollama {
		out = append(out, x.AsOpenAI())
	}
	return out
}

// ReadModels reads an engine's answer to ListPath(dialect). Ollama entries
// lacking a model or details get them, as clients of /api/tags expect.
func ReadModels(dialect string, body []byte) (Models, error) {
	if dialect == attach.DialectOllama {
		var l OllamaList
		if err := json.Unmarshal(body, &l); err != nil {
			return Models{}, fmt.Errorf("read Ollama model list: %w", err)
		}
		for i, m := range l.Models {
			if m.Model == "" {
				l.Models[i].Model = m.Name
			}
			if len(m.Details) == 0 {
				l.Models[i].Details = emptyDetails
			}
		}
		return Models{Ollama: l.Models}, nil
	}
	var l OpenAIList
	if err := json.Unmarshal(body, &l); err != nil {
		return Models{}, fmt.Errorf("read OpenAI model list: %w", err)
	}
	return Models{OpenAI: l.Data}, nil
}

// Names lists the models' names. An answer that held no list at all, not
// even an empty one, fails: it was some other document.
func (m Models) Names() ([]string, error) {
	if m.Ollama == nil && m.OpenAI == nil {
		return nil, errors.New("the answer holds no model list")
	}
	var out []string
	for _, x := range m.Ollama {
		out = append(out, x.Name)
	}
	for _, x := range m.OpenAI {
		out = append(out, x.ID)
	}
	return out, nil
}
