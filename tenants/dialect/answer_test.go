package dialect

import (
	"fmt"
	"reflect"
	"testing"
)

func TestReadAnswer(t *testing.T) {
	n := func(i int) *int { return &i }
	for _, tc := range []struct {
		name, body string
		want       Answer
	}{
		{
			name: "ollama chat, whole",
			body: `{"model":"m","message":{"role":"assistant","content":"Hello!"},"done":true,"done_reason":"stop","prompt_eval_count":8,"eval_count":3}`,
			want: Answer{Role: "assistant", Model: "m", Text: "Hello!", FinishReason: "stop", PromptTokens: n(8), CompletionTokens: n(3)},
		},
		{
			name: "ollama generate, NDJSON",
			body: "{\"model\":\"llama3:latest\",\"response\":\" red\",\"done\":false}\n{\"response\":\", blue\",\"done\":false}\n{\"response\":\"\",\"done\":true,\"done_reason\":\"length\",\"eval_count\":2}\n",
			want: Answer{Model: "llama3:latest", Text: " red, blue", FinishReason: "length", CompletionTokens: n(2)},
		},
		{
			name: "ollama chat with parts, pretty printed",
			body: "{\n \"message\": {\"role\": \"tool\", \"content\": [\"x\", {\"type\": \"text\", \"text\": \"y\"}, {\"type\": \"image_url\"}]}\n}\n",
			want: Answer{Role: "tool", Text: "x\ny"},
		},
		{
			name: "openai chat, whole",
			body: `{"choices":[{"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"},{"message":{"content":"second choice"}}],"usage":{"prompt_tokens":9,"completion_tokens":2}}`,
			want: Answer{Role: "assistant", Text: "Paris.", FinishReason: "stop", PromptTokens: n(9), CompletionTokens: n(2)},
		},
		{
			name: "a model that is not a string is left out, the text kept",
			body: "{\"model\":5,\"response\":\"a\"}\n{\"model\":\"late\",\"response\":\"b\",\"done\":true}\n",
			want: Answer{Model: "late", Text: "ab"},
		},
		{
			name: "openai completion",
			body: `{"choices":[{"text":"\n\nindeed","finish_reason":"length"}]}`,
			want: Answer{Text: "\n\nindeed", FinishReason: "length"},
		},
		{
			name: "openai SSE: comments, CRLF, usage after the last choice, DONE ends it",
			body: "data: {\"model\":\"qwen2.5-7b\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
				": keep-alive\n\n" +
				"event: message\nid: 3\ndata: {\"choices\":[{\"delta\":{\"content\":\"A cat\"}}]}\r\n\r\n" +
				"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
				"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}\n\n" +
				"data: [DONE]\n\n" +
				"data: {\"choices\":[{\"delta\":{\"content\":\" after the end\"}}]}\n\n",
			want: Answer{Role: "assistant", Model: "qwen2.5-7b", Text: "A cat", FinishReason: "stop", PromptTokens: n(12), CompletionTokens: n(5)},
		},
		{
			name: "SSE data over two lines, no space, no blank line at the end",
			body: "data:{\"choices\":\ndata: [{\"text\":\"joined\"}]}\n\ndata: {\"choices\":[{\"text\":\" end\"}]}",
			want: Answer{Text: "joined end"},
		},
		{
			name: "SSE event that does not read",
			body: "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {bad}\n\ndata: {\"choices\":[{\"text\":\"b\"}]}\n\n",
			want: Answer{Text: "ab", Partial: true},
		},
		{
			name: "SSE cut inside an event",
			body: "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[{\"te",
			want: Answer{Text: "a", Partial: true},
		},
		{
			name: "NDJSON cut inside a line",
			body: "{\"response\":\"a\"}\n{\"resp",
			want: Answer{Text: "a", Partial: true},
		},
		{
			name: "error mid-stream",
			body: "{\"response\":\"par\",\"done\":false}\n{\"error\":\"out of memory\"}\n",
			want: Answer{Text: "par", Error: "out of memory"},
		},
		{
			name: "openai error",
			body: `{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}`,
			want: Answer{Error: "Incorrect API key"},
		},
		{
			name: "error of another shape is kept as JSON",
			body: `{"error":{"code":5}}`,
			want: Answer{Error: `{"code":5}`},
		},
		{name: "not JSON", body: "Bad Gateway\n", want: Answer{Unreadable: true}},
		{name: "a field of the wrong kind", body: `{"eval_count":"3"}`, want: Answer{Unreadable: true}},
		{name: "empty", body: "", want: Answer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadAnswer([]byte(tc.body)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadAnswer(%q)\n got %s\nwant %s", tc.body, show(got), show(tc.want))
			}
		})
	}
}

// show writes an answer with its token counts, not their addresses.
func show(a Answer) string {
	count := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	prompt, completion := count(a.PromptTokens), count(a.CompletionTokens)
	a.PromptTokens, a.CompletionTokens = nil, nil
	return fmt.Sprintf("%+v prompt_tokens=%v completion_tokens=%v", a, prompt, completion)
}
