package dialect

import (
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestRoutes(t *testing.T) {
	all := Routes()
	if len(all) != 11 {
		t.Fatalf("%d routes, want the 7 Ollama and 4 OpenAI ones", len(all))
	}
	for i, r := range all {
		if i > 0 && all[i-1].Path >= r.Path {
			t.Errorf("routes not sorted: %s before %s", all[i-1].Path, r.Path)
		}
		if got, ok := Lookup(r.Path); !ok || *got != r {
			t.Errorf("Lookup(%s) = %+v, %v", r.Path, got, ok)
		}
		if r.Dialect == attach.DialectOllama && r.Kind != List && r.Kind != Version {
			if alt, ok := Lookup(r.OpenAIPath); !ok || alt.Dialect != attach.DialectOpenAI {
				t.Errorf("%s points OpenAI clients to %q, not an OpenAI route", r.Path, r.OpenAIPath)
			}
		}
	}
	if _, ok := Lookup("/api/pull"); ok {
		t.Error("Lookup found a route the gateway does not serve")
	}
	chat, _ := Lookup("/api/chat")
	openaiChat, _ := Lookup("/v1/chat/completions")
	embed, _ := Lookup("/api/embed")
	switch {
	case !chat.Generates() || !openaiChat.Generates() || embed.Generates():
		t.Error("only chat and completion routes generate")
	case chat.Accepts(attach.DialectOpenAI) || !chat.Accepts(attach.DialectOllama):
		t.Error("an Ollama route is for Ollama engines only")
	case !openaiChat.Accepts(attach.DialectOllama) || !openaiChat.Accepts(attach.DialectOpenAI):
		t.Error("an OpenAI route is for engines of both dialects")
	}
}

func TestRouteModel(t *testing.T) {
	chat, _ := Lookup("/api/chat")
	show, _ := Lookup("/api/show")
	cases := []struct {
		route *Route
		body  string
		want  string
		bad   bool
	}{
		{chat, `{"model":"llama3","messages":[{"role":"user","content":"{\"model\":\"x\"}"}]}`, "llama3", false},
		{show, `{"name":"llama3"}`, "llama3", false},
		{chat, `{"name":"llama3"}`, "", false},
		{show, `{"model":"a","name":"b"}`, "a", false},
		{chat, `{"name":5,"model":"a"}`, "a", false},
		{chat, ``, "", false},
		{chat, `  `, "", false},
		{chat, `{"model":`, "", true},
		{chat, `[1]`, "", true},
		{chat, `{"model":1}`, "", true},
		{chat, `{"model":"a"} trailing`, "", true},
		{chat, `{"model":null}`, "", false},
		{chat, `{"Model":"a"}`, "a", false},
		{chat, `{"model":"a","model":"b"}`, "b", false},
		{chat, `{"model":"a\"b\u00e9"}`, "a\"bé", false},
		{chat, `{"mo\u0064el":"x"}`, "x", false},
		{chat, `{"mo\u0064el":7}`, "", true},
		{chat, ` { "opts" : {"model":"inner","a":[1,"]",{"b":"}"}]} , "n":-1.5e3,"t":true, "model" : "outer" } `, "outer", false},
		{show, `{"name":"",  "model":""}`, "", false},
		{show, `{"model":"","name":"n"}`, "n", false},
		{show, `{"name":["x"]}`, "", true},
		{show, `{}`, "", false},
		{chat, `"model"`, "", true},
	}
	for _, tc := range cases {
		got, err := tc.route.Model([]byte(tc.body))
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("Model(%s, %q) = %q, %v; want %q, error %v", tc.route.Path, tc.body, got, err, tc.want, tc.bad)
		}
	}
	_, err := chat.Model([]byte(`{"model":1}`))
	if err == nil || err.Error() != `request body is not valid JSON: field "model" must be a string` {
		t.Errorf("error = %v, want it to name the field", err)
	}
	_, err = chat.Model([]byte(`[1]`))
	if err == nil || err.Error() != "request body is not valid JSON: the body must be a JSON object" {
		t.Errorf("error = %v, want it to say an object is needed", err)
	}
}
