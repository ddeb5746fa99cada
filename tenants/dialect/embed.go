package dialect

import (
	"encoding/json"
	"fmt"

	attach "github.com/attach-dev/attach-gateway"
)

// EmbedPath is where an engine of the dialect computes embeddings.
func EmbedPath(dialect string) string {
	if dialect == attach.DialectOpenAI {
		return "/v1/embeddings"
	}
	return "/api/embed"
}

// EmbedRequest asks for the embeddings of texts, in either dialect.
type EmbedRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

// ReadEmbeddings reads an engine's answer to an EmbedRequest: one vector
// per text, in the order of the texts.
func ReadEmbeddings(dialect string, body []byte) ([][]float32, error) {
	var out struct {
		Embeddings [][]float32 `json:"embeddings"` // Ollama
		Data       []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"` // OpenAI, in any order
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("embeddings answer is not JSON: %w", err)
	}
	if dialect != attach.DialectOpenAI {
		return out.Embeddings, nil
	}
	vectors := make([][]float32, len(out.Data))
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(vectors) {
			return nil, fmt.Errorf("embedding index %d out of range", d.Index)
		}
		vectors[d.Index] = d.Embedding
	}
	return vectors, nil
}
