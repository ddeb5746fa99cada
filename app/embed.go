package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// embedder computes memory vectors with the team's own engine for the model
// the team named: Ollama's /api/embed or an OpenAI-compatible
// /v1/embeddings. It calls engines under the same network policy as the
// proxy.
type embedder struct {
	dir     *tenants.Directory
	client  *http.Client
	own     *http.Client  // for the side-car engine, which may be private
	sidecar sidecarEngine // recognises it
}

func newEmbedder(dir *tenants.Directory, policy netguard.Policy, sidecar sidecarEngine) *embedder {
	return &embedder{dir: dir, client: policy.HTTPClient(60 * time.Second), own: ownPolicy.HTTPClient(60 * time.Second), sidecar: sidecar}
}

func (e *embedder) Embed(ctx context.Context, teamID, model string, texts []string) ([][]float32, error) {
	team, ok := e.dir.TeamByID(teamID)
	if !ok {
		return nil, errors.New("team not found")
	}
	eng, ok := team.Engine(model)
	if !ok {
		return nil, fmt.Errorf("the team has no engine serving %s", model)
	}
	path := dialect.EmbedPath(eng.Dialect)
	body, err := json.Marshal(dialect.EmbedRequest{Model: model, Input: texts})
	if err != nil {
		return nil, fmt.Errorf("encode embedding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dialect.URL(eng.BaseURL, path), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("engine %s: bad base URL", eng.Name)
	}
	req.Header.Set("Content-Type", "application/json")
	if eng.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+eng.APIKey)
	}
	client := e.client
	if e.sidecar.Is(eng) {
		client = e.own
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", eng.Name, plainNetError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("engine %s: read embeddings: %w", eng.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("engine %s answered HTTP %d to %s", eng.Name, resp.StatusCode, path)
	}
	vectors, err := dialect.ReadEmbeddings(eng.Dialect, raw)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", eng.Name, err)
	}
	if len(vectors) != len(texts) {
		return nil, fmt.Errorf("engine %s returned %d embeddings for %d texts", eng.Name, len(vectors), len(texts))
	}
	return vectors, nil
}
