package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/browsertest"
	"github.com/attach-dev/attach-gateway/app/proxy/dialecttest"
	"github.com/attach-dev/attach-gateway/deploy/testkit/ollamatest"
	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// missingModel is listed for the teams' engines but not served by them:
// asking for it reaches the engine, which refuses it.
const missingModel = "no-such-model"

// dialectTeam makes a team whose one engine, of the given dialect, is at
// engineURL, serving the tiny model (and listing missingModel), and returns
// the team and an API key of it.
func dialectTeam(t *testing.T, gw *gateway, owner tenants.User, slug, dialect, engineURL string) (attach.Team, string) {
	t.Helper()
	ctx := context.Background()
	team, err := gw.store.CreateTeamWithOwner(ctx, teamInput(slug), owner.ID)
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	in := tenants.EngineInput{Name: "box-" + dialect, Dialect: dialect, BaseURL: engineURL, Models: []string{ollamatest.ModelName, missingModel}, Default: true}
	if _, err := gw.store.CreateEngine(ctx, team.ID, in); err != nil {
		t.Fatalf("create engine: %v", err)
	}
	_, key, err := gw.store.CreateAPIKey(ctx, team.ID, tenants.APIKeyInput{Name: "client"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "team "+slug+" with its engine in the directory", func() bool {
		s, ok := gw.dir.Team(slug)
		return ok && len(s.Engines) == 1
	})
	return team, key
}

// Any client reaches any engine. The real ollama and openai npm clients
// call one real Ollama through the gateway, registered in one team as an
// Ollama engine and in another as an OpenAI engine at its /v1 base URL:
// every Ollama call to the second is translated to the OpenAI API and its
// answer back. Each call gives the tiny model's sentence, streams arrive in
// several chunks and end with the done marker, the engine's token counts
// reach the client, embeddings come back as vectors, and an engine's error
// keeps its status in the client's own error shape. The translated
// exchanges land in memory as prompt and answer.
func TestDialectsRealClientsRealOllama(t *testing.T) {
	t.Parallel()
	eng := ollamatest.Start(t)
	cfg := testConfig(t)
	// The first request starts the engine's runner and loads the model.
	cfg.UpstreamTimeout = 2 * time.Minute
	gw := startGateway(t, cfg)
	u := consoleAccount(t, gw, "dia@example.test", "Dia Lect")
	_, olKey := dialectTeam(t, gw, u, "ol", attach.DialectOllama, eng.URL)
	oaTeam, oaKey := dialectTeam(t, gw, u, "oa", attach.DialectOpenAI, eng.URL+"/v1")

	for _, tc := range []struct {
		name, client, slug, key string
	}{
		{"ollama client, ollama engine", dialecttest.Ollama, "ol", olKey},
		{"ollama client, openai engine", dialecttest.Ollama, "oa", oaKey},
		{"openai client, ollama engine", dialecttest.OpenAI, "ol", olKey},
		{"openai client, openai engine", dialecttest.OpenAI, "oa", oaKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := dialecttest.Run(t, tc.client, gw.URL+"/t/"+tc.slug, tc.key, ollamatest.ModelName)
			for name, c := range res {
				t.Logf("%s: text=%q chunks=%d done=%v reason=%q prompt=%v eval=%v vectors=%dx%d error=%q (%d)",
					name, c.Text, c.Chunks, c.Done, c.DoneReason, showCount(c.PromptTokens), showCount(c.EvalTokens), c.Count, c.Dims, c.Error, c.Status)
			}
			for _, name := range []string{"chat", "chat_stream", "generate", "generate_stream"} {
				c := res[name]
				if c.Error != "" {
					t.Errorf("%s: the client raised %q (status %d)\nengine:\n%.2000s", name, c.Error, c.Status, eng.Output())
					continue
				}
				if strings.TrimSpace(c.Text) != ollamatest.Answer {
					t.Errorf("%s: the client read %q, want %q", name, c.Text, ollamatest.Answer)
				}
				if !c.Done || (c.DoneReason != "stop" && c.DoneReason != "length") {
					t.Errorf("%s: done %v, reason %q", name, c.Done, c.DoneReason)
				}
				if c.PromptTokens == nil || *c.PromptTokens <= 0 || c.EvalTokens == nil || *c.EvalTokens <= 0 {
					t.Errorf("%s: the engine's token counts did not reach the client: prompt %v, eval %v", name, showCount(c.PromptTokens), showCount(c.EvalTokens))
				}
				if !strings.HasPrefix(c.Model, ollamatest.ModelName) {
					t.Errorf("%s: the answer names model %q", name, c.Model)
				}
				if strings.HasSuffix(name, "_stream") && c.Chunks < 3 {
					t.Errorf("%s: the stream came in %d chunks, want one per token", name, c.Chunks)
				}
			}
			if c := res["chat"]; c.Role != "" && c.Role != "assistant" {
				t.Errorf("chat: role %q", c.Role)
			}
			if c := res["embed"]; c.Error != "" || c.Count != 2 || c.Dims == 0 {
				t.Errorf("embed: %+v", c)
			}
			if c, ok := res["embeddings"]; ok && (c.Error != "" || c.Dims == 0) {
				t.Errorf("embeddings: %+v", c)
			}
			if tc.client == dialecttest.Ollama {
				if _, ok := res["embeddings"]; !ok {
					t.Error("the Ollama client made no /api/embeddings call")
				}
			}
			for _, name := range []string{"unknown_model", "unknown_model_stream"} {
				if c := res[name]; c.Status != 404 || !strings.Contains(c.Error, missingModel) {
					t.Errorf("%s, a model the engine does not serve: status %d, error %q; want 404 naming the model", name, c.Status, c.Error)
				}
			}
		})
	}

	// The translated exchanges are in memory as the engine saw them, which
	// memory reads like any: the prompt and the tiny model's answer.
	var events []attach.Event
	waitFor(t, "the translated exchanges in memory", func() bool {
		var err error
		events, _, err = gw.mem.store.List(context.Background(), memory.Filter{TeamID: oaTeam.ID})
		return err == nil && len(events) >= 8
	})
	prompts, answers := 0, 0
	for _, e := range events {
		switch {
		case e.Kind == attach.KindPrompt && e.Content == "Say something.":
			prompts++
		case e.Kind == attach.KindResponse && strings.TrimSpace(e.Content) == ollamatest.Answer:
			answers++
		}
	}
	if prompts < 8 || answers < 8 {
		t.Errorf("memory of the OpenAI engine's team holds %d prompts and %d answers of the 8 chats and completions", prompts, answers)
	}
}

func showCount(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// The console's chat and "Try it" work with a team whose engine speaks the
// OpenAI API only: both call the gateway's Ollama /api/chat, which the
// gateway translates for the engine (a real Ollama reached on /v1).
func TestConsoleE2EChatOpenAIEngine(t *testing.T) {
	t.Parallel()
	browsertest.SkipIfShort(t)
	eng := ollamatest.Start(t)
	cfg := testConfig(t)
	cfg.UpstreamTimeout = 2 * time.Minute
	gw := startGateway(t, cfg)
	u := consoleAccount(t, gw, "oai@example.test", "Oona Openai")
	dialectTeam(t, gw, u, "lab", attach.DialectOpenAI, eng.URL+"/v1")
	ui := newConsoleUI(t)
	ui.signIn(gw, u.Email, e2ePassword)

	ui.open(gw.URL + "/console/t/lab/chat")
	ui.fill("#chat-model", ollamatest.ModelName)
	ui.fill("#chat-input", "Hello there")
	ui.click("#chat-send")
	ui.Do(t, chromedp.WaitReady(chromedp.Search(`//*[@id="chat-log"]/*[@data-testid="msg-assistant"]/span[@class="msg-text" and normalize-space(.)="`+ollamatest.Answer+`"]`)))
	ui.Do(t, chromedp.WaitEnabled(chromedp.CSS("#chat-send")))
	ui.shot("01-chat-openai-engine")

	ui.open(gw.URL + "/console/t/lab/")
	ui.fill("#try-model", ollamatest.ModelName)
	ui.fill("#try-message", "Are you there?")
	ui.click("#try-send")
	if answer, _ := tryOutcome(t, ui); strings.TrimSpace(answer) != ollamatest.Answer {
		t.Errorf("Try it answered %q, want %q", answer, ollamatest.Answer)
	}
	ui.shot("02-try-it-openai-engine")
}
