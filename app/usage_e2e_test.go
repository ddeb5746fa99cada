package app

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/testkit/ollamatest"
)

// engineCounts is what an answer said of its tokens, read the way a
// client reads it, and what the client saw of usage in a stream.
type engineCounts struct {
	prompt, completion int
	reported           bool
	usageChunks        int // OpenAI stream events with no choices and a usage object
	usageFields        int // events or lines that carry a non-null usage
	text               string
}

// readCounts reads an answer: one JSON document, NDJSON lines or SSE events.
func readCounts(t *testing.T, body string) engineCounts {
	t.Helper()
	var c engineCounts
	var payloads []string
	if strings.HasPrefix(body, "data:") {
		for ev := range strings.SplitSeq(body, "\n\n") {
			data, ok := strings.CutPrefix(strings.TrimSpace(ev), "data: ")
			if ok && data != "[DONE]" {
				payloads = append(payloads, data)
			}
		}
	} else {
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				payloads = append(payloads, line)
			}
		}
	}
	for _, p := range payloads {
		var ch struct {
			PromptEvalCount *int            `json:"prompt_eval_count"`
			EvalCount       *int            `json:"eval_count"`
			Usage           json.RawMessage `json:"usage"`
			Choices         *[]struct {
				Delta, Message *struct{ Content string }
				Text           string
			} `json:"choices"`
			Message  *struct{ Content string }
			Response string
		}
		if err := json.Unmarshal([]byte(p), &ch); err != nil {
			t.Fatalf("answer part %q: %v", p, err)
		}
		if ch.PromptEvalCount != nil {
			c.prompt, c.reported = *ch.PromptEvalCount, true
		}
		if ch.EvalCount != nil {
			c.completion = *ch.EvalCount
		}
		if len(ch.Usage) > 0 && string(ch.Usage) != "null" {
			c.usageFields++
			var u struct{ PromptTokens, CompletionTokens int }
			_ = json.Unmarshal(ch.Usage, &struct {
				P *int `json:"prompt_tokens"`
				C *int `json:"completion_tokens"`
			}{&u.PromptTokens, &u.CompletionTokens})
			if u.PromptTokens != 0 || u.CompletionTokens != 0 {
				c.prompt, c.completion, c.reported = u.PromptTokens, u.CompletionTokens, true
			}
			if ch.Choices != nil && len(*ch.Choices) == 0 {
				c.usageChunks++
			}
		}
		if ch.Message != nil {
			c.text += ch.Message.Content
		}
		c.text += ch.Response
		if ch.Choices != nil {
			for _, x := range *ch.Choices {
				if x.Delta != nil {
					c.text += x.Delta.Content
				}
				if x.Message != nil {
					c.text += x.Message.Content
				}
				c.text += x.Text
			}
		}
	}
	return c
}

// ledgerRow is one raw usage record.
type ledgerRow struct {
	prompt, completion, status int
	estimated                  bool
	keyID, subject, model      string
}

// newestRecord waits until team has n records on path and returns the
// newest.
func newestRecord(t *testing.T, gw *gateway, teamID, path string, n int) ledgerRow {
	t.Helper()
	ctx := context.Background()
	pollUntil(t, 30*time.Second, "usage record "+path, func() bool {
		var got int
		err := gw.pool.QueryRow(ctx, "SELECT count(*) FROM usage_records WHERE team_id = $1 AND path = $2", teamID, path).Scan(&got)
		return err == nil && got >= n
	})
	var r ledgerRow
	err := gw.pool.QueryRow(ctx, `SELECT prompt_tokens, completion_tokens, status, estimated, key_id, subject, model
		FROM usage_records WHERE team_id = $1 AND path = $2 ORDER BY at DESC LIMIT 1`, teamID, path).
		Scan(&r.prompt, &r.completion, &r.status, &r.estimated, &r.keyID, &r.subject, &r.model)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A real Ollama, registered once as an Ollama engine and once as an
// OpenAI engine (its /v1): every chat, completion and embedding exchange,
// whole and streamed, lands in the ledger with the counts the engine put
// in its answer. An OpenAI stream whose client did not ask for usage
// shows it none, and is still counted; one whose client asked shows it.
func TestUsageCountsWhatTheEngineReported(t *testing.T) {
	t.Parallel()
	eng := ollamatest.Start(t)
	cfg := testConfig(t)
	cfg.UpstreamTimeout = 2 * time.Minute // the first request loads the model
	gw := startGateway(t, cfg)
	admin := adminClient(t, gw)
	admin.post("/teams", `{"slug":"ol","name":"Ollama dialect"}`, 201)
	admin.post("/teams/ol/engines", `{"name":"ollama","dialect":"ollama","base_url":"`+eng.URL+`","models":["tiny"],"default":true}`, 201)
	admin.post("/teams", `{"slug":"oa","name":"OpenAI dialect"}`, 201)
	admin.post("/teams/oa/engines", `{"name":"openai","dialect":"openai","base_url":"`+eng.URL+`/v1","models":["tiny"],"default":true}`, 201)
	waitForTeam(t, gw, "ol", 1, 0)
	waitForTeam(t, gw, "oa", 1, 0)
	keys := map[string]string{"ol": memKey(t, gw, "ol"), "oa": memKey(t, gw, "oa")}
	teamIDs := map[string]string{}
	for slug := range keys {
		s, _ := gw.dir.Team(slug)
		teamIDs[slug] = s.Team.ID
	}

	chat := func(prompt string) string {
		return `"model":"tiny","messages":[{"role":"user","content":"` + prompt + `"}]`
	}
	cases := []struct {
		name, team, path, body string
		// direct, when set, is the request whose answer, straight from
		// the engine, holds the counts the client of the gateway did
		// not see.
		direct string
		// usageChunks is how many usage-only events the client sees.
		usageChunks int
		// engine is the route the engine was called on, when the
		// gateway translated the client's.
		engine string
	}{
		{name: "ollama chat whole", team: "ol", path: "/api/chat", body: `{"stream":false,` + chat("count me whole") + `}`},
		{name: "ollama chat stream", team: "ol", path: "/api/chat", body: `{` + chat("count my stream") + `}`},
		{name: "ollama generate stream", team: "ol", path: "/api/generate", body: `{"model":"tiny","prompt":"generate something"}`},
		{name: "ollama embed", team: "ol", path: "/api/embed", body: `{"model":"tiny","input":["one text","and another"]}`},
		{name: "openai chat whole", team: "oa", path: "/v1/chat/completions", body: `{` + chat("count me whole too") + `}`},
		{name: "openai chat stream, usage not asked", team: "oa", path: "/v1/chat/completions",
			body:   `{"stream":true,` + chat("a stream that asks nothing") + `}`,
			direct: `{"stream":true,"stream_options":{"include_usage":true},` + chat("a stream that asks nothing") + `}`},
		{name: "openai chat stream, usage asked", team: "oa", path: "/v1/chat/completions",
			body: `{"stream":true,"stream_options":{"include_usage":true},` + chat("a stream that asks for usage") + `}`, usageChunks: 1},
		{name: "openai completion stream, usage not asked", team: "oa", path: "/v1/completions",
			body:   `{"model":"tiny","stream":true,"prompt":"complete this"}`,
			direct: `{"model":"tiny","stream":true,"stream_options":{"include_usage":true},"prompt":"complete this"}`},
		{name: "openai embeddings", team: "oa", path: "/v1/embeddings", body: `{"model":"tiny","input":"embed me"}`},
		// An Ollama client of an OpenAI engine: the answer is translated,
		// and the counts the engine gave at the stream's end are both the
		// client's and the ledger's.
		{name: "ollama chat stream, translated", team: "oa", path: "/api/chat", body: `{` + chat("translate my stream") + `}`,
			engine: "/v1/chat/completions"},
		{name: "ollama chat whole, translated", team: "oa", path: "/api/chat", body: `{"stream":false,` + chat("translate me whole") + `}`,
			engine: "/v1/chat/completions"},
	}
	seen := map[string]int{}
	for _, tc := range cases {
		resp, body := call(t, "POST", gw.URL+"/t/"+tc.team+tc.path, keys[tc.team], tc.body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s\nengine:\n%s", tc.name, resp.StatusCode, body, eng.Output())
		}
		client := readCounts(t, body)
		if client.usageChunks != tc.usageChunks {
			t.Errorf("%s: the client saw %d usage chunks, want %d:\n%s", tc.name, client.usageChunks, tc.usageChunks, body)
		}
		if strings.Contains(tc.path, "embed") == (client.text != "") {
			t.Errorf("%s: the client read %q", tc.name, client.text)
		}
		want := client
		if tc.direct != "" {
			if client.reported && tc.path == "/v1/chat/completions" {
				t.Errorf("%s: the client saw counts it did not ask for:\n%s", tc.name, body)
			}
			r, direct := call(t, "POST", eng.URL+tc.path, "", tc.direct)
			if r.StatusCode != 200 {
				t.Fatalf("%s: the engine itself answered %d: %s", tc.name, r.StatusCode, direct)
			}
			want = readCounts(t, direct)
		}
		if !want.reported || want.prompt == 0 {
			t.Fatalf("%s: the engine reported no counts to compare with:\n%s", tc.name, body)
		}
		route := tc.path
		if tc.engine != "" {
			route = tc.engine
		}
		seen[tc.team+route]++
		row := newestRecord(t, gw, teamIDs[tc.team], route, seen[tc.team+route])
		if row.prompt != want.prompt || row.completion != want.completion || row.estimated || row.status != 200 {
			t.Errorf("%s: ledger has %d+%d tokens (estimated %v, status %d); the engine reported %d+%d",
				tc.name, row.prompt, row.completion, row.estimated, row.status, want.prompt, want.completion)
		}
		t.Logf("%s: engine reported %d+%d, ledger %d+%d", tc.name, want.prompt, want.completion, row.prompt, row.completion)
		if row.model != "tiny" || row.keyID == "" || row.subject != "apikey:"+row.keyID {
			t.Errorf("%s: ledger row names model %q key %q subject %q", tc.name, row.model, row.keyID, row.subject)
		}
	}

	// Prometheus counts the same tokens by team, engine and model.
	var olPrompt int64
	if err := gw.pool.QueryRow(context.Background(), "SELECT sum(prompt_tokens) FROM usage_records WHERE team_id = $1",
		teamIDs["ol"]).Scan(&olPrompt); err != nil {
		t.Fatal(err)
	}
	series := `attach_usage_tokens_total{engine="ollama",kind="prompt",model="tiny",team="` + teamIDs["ol"] + `"}`
	if got := metricValue(t, gw, series); int64(got) != olPrompt {
		t.Errorf("%s = %v, the ledger holds %d", series, got, olPrompt)
	}

	// The usage API adds up the same counts (the key sees its own).
	var prompt, completion int64
	if err := gw.pool.QueryRow(context.Background(), "SELECT sum(prompt_tokens), sum(completion_tokens) FROM usage_records WHERE team_id = $1",
		teamIDs["oa"]).Scan(&prompt, &completion); err != nil {
		t.Fatal(err)
	}
	resp, body := call(t, "GET", gw.URL+"/t/oa/usage?interval=day&group_by=model", keys["oa"], "")
	var got usageAnswer
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("usage: %d %s", resp.StatusCode, body)
	}
	var sumP, sumC, reqs int64
	for _, b := range got.Buckets {
		if b.Group != "tiny" {
			t.Errorf("group %q, want tiny", b.Group)
		}
		sumP, sumC, reqs = sumP+b.PromptTokens, sumC+b.CompletionTokens, reqs+b.Requests
	}
	if got.Scope != "own" || reqs != 7 || sumP != prompt || sumC != completion {
		t.Errorf("GET /t/oa/usage: scope %s, %d requests, %d+%d tokens; the records hold 7 requests, %d+%d:\n%s",
			got.Scope, reqs, sumP, sumC, prompt, completion, body)
	}
}

// usageAnswer is the usage API's answer.
type usageAnswer struct {
	Scope   string `json:"scope"`
	GroupBy string `json:"group_by"`
	Buckets []struct {
		Start             time.Time `json:"start"`
		Group             string    `json:"group"`
		Requests          int64     `json:"requests"`
		PromptTokens      int64     `json:"prompt_tokens"`
		CompletionTokens  int64     `json:"completion_tokens"`
		EstimatedRequests int64     `json:"estimated_requests"`
	} `json:"buckets"`
}
