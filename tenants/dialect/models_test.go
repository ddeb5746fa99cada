package dialect

import (
	"slices"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestReadModels(t *testing.T) {
	m, err := ReadModels(attach.DialectOllama, []byte(`{"models":[{"name":"llama3:latest","model":"llama3:latest","details":{"family":"llama"}},{"name":"acme/tiny:1b","modified_at":"2025-05-02T10:00:00Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if names, err := m.Names(); err != nil || !slices.Equal(names, []string{"llama3:latest", "acme/tiny:1b"}) {
		t.Errorf("names = %v, %v", names, err)
	}
	if tiny := m.Ollama[1]; tiny.Model != "acme/tiny:1b" || string(tiny.Details) != string(emptyDetails) {
		t.Errorf("an entry without model or details was not completed: %+v", tiny)
	}
	want := OpenAIModel{ID: "acme/tiny:1b", Object: "model", Created: time.Date(2025, 5, 2, 10, 0, 0, 0, time.UTC).Unix(), OwnedBy: "acme"}
	if got := m.Ollama[1].AsOpenAI(); got != want {
		t.Errorf("as OpenAI: %+v, want %+v", got, want)
	}
	if got := m.Ollama[0].AsOpenAI(); got.OwnedBy != "library" || got.Created != 0 {
		t.Errorf("an official model without a time as OpenAI: %+v", got)
	}

	m, err = ReadModels(attach.DialectOpenAI, []byte(`{"object":"list","data":[{"id":"qwen2","object":"model","created":1715000000,"owned_by":"vllm"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if names, err := m.Names(); err != nil || !slices.Equal(names, []string{"qwen2"}) {
		t.Errorf("names = %v, %v", names, err)
	}
	if got := m.OpenAI[0].AsOllama(); got.Name != "qwen2" || got.Model != "qwen2" || got.ModifiedAt != "2024-05-06T12:53:20Z" {
		t.Errorf("as Ollama: %+v", got)
	}

	// Each dialect's list in its own field; the other's is no list.
	if m, err := ReadModels(attach.DialectOllama, []byte(`{"object":"list","data":[]}`)); err != nil {
		t.Fatal(err)
	} else if _, err := m.Names(); err == nil {
		t.Error("an OpenAI list read as an Ollama one")
	}
	if m, _ := ReadModels(attach.DialectOpenAI, []byte(`{"data":[]}`)); len(m.OpenAI) != 0 {
		t.Errorf("empty list: %+v", m)
	} else if names, err := m.Names(); err != nil || len(names) != 0 {
		t.Errorf("an empty list is a list: %v, %v", names, err)
	}
	if _, err := ReadModels(attach.DialectOllama, []byte(`<html>`)); err == nil {
		t.Error("HTML read as a model list")
	}
}

func TestReadEmbeddings(t *testing.T) {
	got, err := ReadEmbeddings(attach.DialectOllama, []byte(`{"model":"m","embeddings":[[1,2],[3,4]]}`))
	if err != nil || len(got) != 2 || got[1][0] != 3 {
		t.Errorf("ollama: %v, %v", got, err)
	}
	got, err = ReadEmbeddings(attach.DialectOpenAI, []byte(`{"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2]}]}`))
	if err != nil || len(got) != 2 || got[0][0] != 1 || got[1][0] != 3 {
		t.Errorf("openai, out of order: %v, %v", got, err)
	}
	if _, err := ReadEmbeddings(attach.DialectOpenAI, []byte(`{"data":[{"index":2,"embedding":[1]}]}`)); err == nil {
		t.Error("an index out of range was taken")
	}
	if _, err := ReadEmbeddings(attach.DialectOllama, []byte(`not json`)); err == nil {
		t.Error("an answer that is not JSON was taken")
	}
}
