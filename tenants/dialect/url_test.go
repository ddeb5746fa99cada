package dialect

import "testing"

func TestAppendURL(t *testing.T) {
	cases := []struct{ base, path, query, want string }{
		{"http://gpu:11434", "/api/chat", "", "http://gpu:11434/api/chat"},
		{"http://gpu:11434/", "/api/chat", "", "http://gpu:11434/api/chat"},
		{"https://api.example.com/v1", "/v1/chat/completions", "", "https://api.example.com/v1/chat/completions"},
		{"https://api.example.com/v1/", "/v1/models", "a=1", "https://api.example.com/v1/models?a=1"},
		{"http://host/proxy/ollama", "/api/tags", "", "http://host/proxy/ollama/api/tags"},
		{"http://host/openai", "/v1/embeddings", "", "http://host/openai/v1/embeddings"},
		{"http://host/v1", "/api/version", "", "http://host/v1/api/version"},
		{"gpu:11434", "/api/chat", "", "http://gpu:11434/api/chat"},
	}
	for _, tc := range cases {
		if got := string(AppendURL(nil, tc.base, tc.path, []byte(tc.query))); got != tc.want {
			t.Errorf("URL of %q + %q = %q, want %q", tc.base, tc.path, got, tc.want)
		}
	}
	if got := URL("http://h/v1/", "/v1/models"); got != "http://h/v1/models" {
		t.Errorf("URL = %q", got)
	}
}
