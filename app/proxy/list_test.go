package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

const ollamaTags = `{"models":[
 {"name":"llama3:latest","model":"llama3:latest","modified_at":"2025-05-01T10:00:00.5+02:00","size":4661224676,"digest":"365c0bd3c000","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"8.0B","quantization_level":"Q4_0"}},
 {"name":"acme/tiny:1b","model":"acme/tiny:1b","modified_at":"2025-05-02T10:00:00Z","size":500000,"digest":"abcd","details":{"format":"gguf","family":"llama"}}
]}`

const openAIModels = `{"object":"list","data":[
 {"id":"qwen2","object":"model","created":1715000000,"owned_by":"vllm"},
 {"id":"llama3","object":"model","created":1715000001,"owned_by":"vllm"}
]}`

func listingEngines(t *testing.T) *tenants.Snapshot {
	t.Helper()
	auth := make(chan string, 4)
	ollama := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/tags" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, ollamaTags)
	}))
	vllm := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer vllm-key" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		auth <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, openAIModels)
	}))
	updated := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	return teamOf(
		attach.Engine{Name: "local", Dialect: attach.DialectOllama, BaseURL: ollama.URL, Default: true},
		// vllm is configured for qwen2, so requests for it (and its listing)
		// go there; down, unreachable, is listed by its configuration.
		attach.Engine{Name: "vllm", Dialect: attach.DialectOpenAI, BaseURL: vllm.URL + "/v1", APIKey: "vllm-key", Models: []string{"qwen2"}},
		attach.Engine{Name: "down", Dialect: attach.DialectOllama, BaseURL: closedPort(t), Models: []string{"phi3", "qwen2"}, UpdatedAt: updated},
		attach.Engine{Name: "down-unconfigured", Dialect: attach.DialectOpenAI, BaseURL: closedPort(t)},
	)
}

func TestTagsMergesEngines(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, listingEngines(t))
	resp := get(t, gw+"/api/tags")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.StatusCode, body)
	}
	var got struct {
		Models []struct {
			Name       string          `json:"name"`
			Model      string          `json:"model"`
			ModifiedAt time.Time       `json:"modified_at"`
			Size       int64           `json:"size"`
			Digest     string          `json:"digest"`
			Details    json.RawMessage `json:"details"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var names []string
	for _, m := range got.Models {
		names = append(names, m.Name)
		if m.Model != m.Name || len(m.Details) == 0 || m.Details[0] != '{' {
			t.Errorf("model %+v lacks Ollama's fields", m)
		}
	}
	// llama3 of vllm is the same model as llama3:latest of local: once only.
	want := []string{"llama3:latest", "acme/tiny:1b", "qwen2", "phi3"}
	if !slices.Equal(names, want) {
		t.Fatalf("models = %v, want %v", names, want)
	}
	if m := got.Models[0]; m.Size != 4661224676 || m.Digest != "365c0bd3c000" || !m.ModifiedAt.Equal(time.Date(2025, 5, 1, 8, 0, 0, 5e8, time.UTC)) {
		t.Errorf("an Ollama engine's entry was altered: %+v", m)
	}
	if m := got.Models[2]; !m.ModifiedAt.Equal(time.Unix(1715000000, 0)) {
		t.Errorf("qwen2 modified_at = %v, want the engine's created time", m.ModifiedAt)
	}
}

func TestModelsMergesEngines(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, listingEngines(t))
	resp := get(t, gw+"/v1/models")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.StatusCode, body)
	}
	var got dialect.OpenAIList
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if got.Object != "list" {
		t.Errorf("object = %q, want list", got.Object)
	}
	want := []dialect.OpenAIModel{
		{ID: "llama3:latest", Object: "model", Created: time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC).Unix(), OwnedBy: "library"},
		{ID: "acme/tiny:1b", Object: "model", Created: time.Date(2025, 5, 2, 10, 0, 0, 0, time.UTC).Unix(), OwnedBy: "acme"},
		{ID: "qwen2", Object: "model", Created: 1715000000, OwnedBy: "vllm"},
		{ID: "phi3", Object: "model", Created: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Unix(), OwnedBy: "down"},
	}
	if !slices.Equal(got.Data, want) {
		t.Fatalf("data = %+v\nwant %+v", got.Data, want)
	}
}

func TestListingAllEnginesDown(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, teamOf(
		attach.Engine{Name: "a", Dialect: attach.DialectOllama, BaseURL: closedPort(t), Default: true},
		attach.Engine{Name: "b", Dialect: attach.DialectOpenAI, BaseURL: closedPort(t)},
	))
	wantError(t, get(t, gw+"/api/tags"), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
	wantError(t, get(t, gw+"/v1/models"), http.StatusBadGateway, attach.CodeUpstreamUnavailable)
}
