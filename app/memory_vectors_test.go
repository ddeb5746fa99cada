package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/memory/weaviatetest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// conceptEmbedder is an engine whose /api/embed maps words to concept
// dimensions, synonyms included: "feline" lands where "cat" does although
// the two share no letters, so only a vector search can match them.
func conceptEmbedder(t *testing.T, calls *atomic.Int64) *httptest.Server {
	concepts := map[string]int{"cat": 0, "cats": 0, "feline": 0, "kitten": 0, "car": 1, "fuel": 1, "engine": 1, "rain": 2, "weather": 2}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/embed" {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		calls.Add(1)
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || req.Model != "concepts" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		out := make([][]float32, len(req.Input))
		for i, text := range req.Input {
			v := []float32{0.01, 0.01, 0.01}
			for _, word := range strings.Fields(strings.ToLower(text)) {
				if d, ok := concepts[strings.Trim(word, ".,!?")]; ok {
					v[d]++
				}
			}
			out[i] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": out})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A team that names an embedding model gets its memory stored with vectors
// computed by its own engine, and searched by meaning.
func TestMemoryVectorSearchThroughTeamEngine(t *testing.T) {
	t.Parallel()
	wv := weaviatetest.Start(t)
	var calls atomic.Int64
	emb := conceptEmbedder(t, &calls)
	cfg := testConfig(t)
	cfg.MemBackend, cfg.WeaviateURL, cfg.WeaviateGRPC = memory.BackendWeaviate, wv.URL(), wv.GRPCAddr()
	gw := startGateway(t, cfg)

	api := adminClient(t, gw)
	api.post("/teams", `{"slug":"vec","name":"Vectors"}`, 201)
	api.post("/teams/vec/engines", `{"name":"embedder","dialect":"ollama","base_url":"`+emb.URL+`","models":["concepts"]}`, 201)
	key := api.post("/teams/vec/keys", `{"name":"reader","scopes":["memory:admin"]}`, 201)["key"].(string)
	waitForTeam(t, gw, "vec", 1, 0)
	prefix, _ := attach.ParseAPIKey(key)
	waitFor(t, "the key on the request path", func() bool {
		s, ok := gw.dir.Team("vec")
		if !ok {
			return false
		}
		_, ok = s.APIKey(prefix)
		return ok
	})
	api.do("PUT", "/teams/vec/memory", `{"backend":"nowhere"}`, 422)
	if got := api.do("PUT", "/teams/vec/memory", `{"embed_model":"concepts"}`, 200); got["effective_backend"] != "weaviate" {
		t.Fatalf("memory settings = %v", got)
	}
	team, _ := gw.dir.Team("vec")
	audit, _, err := gw.store.ListAudit(t.Context(), team.Team.ID, tenants.Page{})
	if err != nil || len(audit) == 0 || audit[0].Action != "memory.settings" || audit[0].ActorName != "admin token" {
		t.Fatalf("newest audit entry = %+v, %v; want the settings change by the admin token", audit, err)
	}

	for _, note := range []string{"My cat sleeps all day.", "The car needs fuel.", "Rain is expected."} {
		resp, body := call(t, "POST", gw.URL+"/t/vec/mem/events", key, `{"kind":"note","content":"`+note+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("store note: %d %s", resp.StatusCode, body)
		}
	}
	waitFor(t, "notes delivered to Weaviate", func() bool {
		var left int
		if err := gw.pool.QueryRow(t.Context(), "SELECT count(*) FROM memory_outbox").Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 0
	})
	if calls.Load() == 0 {
		t.Fatal("no vectors were computed by the team's engine")
	}

	resp, body := call(t, "GET", gw.URL+"/t/vec/mem/events?q=feline", key, "")
	if resp.StatusCode != 200 {
		t.Fatalf("search: %d %s", resp.StatusCode, body)
	}
	var out struct {
		Events []attach.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Events) == 0 || out.Events[0].Content != "My cat sleeps all day." {
		t.Fatalf("search for 'feline' = %s; want the note about the cat first", body)
	}
}
