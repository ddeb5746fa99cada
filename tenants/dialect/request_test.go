package dialect

import "testing"

func TestReadPrompt(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		want             Prompt
	}{
		{
			name: "ollama chat: the last message, streamed by default",
			path: "/api/chat",
			body: `{"model":"llama3.2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why?"}]}`,
			want: Prompt{Role: "user", Text: "Why?", Model: "llama3.2", Stream: true, Chat: true, Messages: 2},
		},
		{
			name: "ollama generate told not to stream",
			path: "/api/generate",
			body: `{"model":"m","prompt":"Complete: roses are","stream":false}`,
			want: Prompt{Role: "user", Text: "Complete: roses are", Model: "m"},
		},
		{
			name: "openai chat: text parts joined, images left out, not streamed by default",
			path: "/v1/chat/completions",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"Describe"},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"input_text","text":"this"},{"text":"image"},{"type":"text","text":""},null,5]}]}`,
			want: Prompt{Role: "user", Text: "Describe\nthis\nimage", Chat: true, Messages: 1},
		},
		{
			name: "openai completion: a list of prompts, one per line",
			path: "/v1/completions",
			body: `{"model":"m","prompt":["Say this","","is a test"],"stream":true}`,
			want: Prompt{Role: "user", Text: "Say this\n\nis a test", Model: "m", Stream: true},
		},
		{
			name: "a chat with no messages",
			path: "/api/chat",
			body: `{"messages":[]}`,
			want: Prompt{Stream: true, Chat: true},
		},
		{
			name: "content of no text kind",
			path: "/api/chat",
			body: `{"messages":[{"role":"user","content":{"a":1}}]}`,
			want: Prompt{Role: "user", Stream: true, Chat: true, Messages: 1},
		},
		{
			name: "messages on a completion route without a prompt read as a chat",
			path: "/api/generate",
			body: `{"messages":[{"role":"user","content":"hi"}]}`,
			want: Prompt{Role: "user", Text: "hi", Stream: true, Chat: true, Messages: 1},
		},
		{
			name: "not JSON: kept as it came",
			path: "/api/chat",
			body: "not json",
			want: Prompt{Text: "not json", Unparsed: true},
		},
		{
			name: "a field of the wrong kind: kept as it came",
			path: "/api/chat",
			body: `{"messages":[{"role":5}]}`,
			want: Prompt{Text: `{"messages":[{"role":5}]}`, Unparsed: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadPrompt(tc.path, []byte(tc.body)); got != tc.want {
				t.Errorf("ReadPrompt(%s, %q)\n got %+v\nwant %+v", tc.path, tc.body, got, tc.want)
			}
		})
	}
}
