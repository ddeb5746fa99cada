package dialect

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const openAIStream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}],\"usage\":null}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n" +
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n" +
	"data: [DONE]\n\n"

const usageEvent = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n"

// passAll feeds stream to a tally in parts of size n and returns what went on.
func passAll(t *Tally, stream string, n int) string {
	var out bytes.Buffer
	for len(stream) > 0 {
		k := min(n, len(stream))
		out.Write(t.Pass([]byte(stream[:k])))
		stream = stream[k:]
	}
	out.Write(t.End())
	return out.String()
}

func TestTallyStripsTheUsageChunkOnly(t *testing.T) {
	for _, n := range []int{1, 3, 17, 1 << 20} {
		tl := NewTally(true, true)
		got := passAll(tl, openAIStream, n)
		if want := strings.Replace(openAIStream, usageEvent, "", 1); got != want {
			t.Fatalf("parts of %d: the client got\n%q\nwant\n%q", n, got, want)
		}
		if c := tl.Counts(); !c.Reported || c.Prompt != 11 || c.Completion != 7 || c.TextRunes != 5 {
			t.Errorf("parts of %d: counts %+v", n, c)
		}
	}
}

func TestTallyPassesEverythingWhenNotStripping(t *testing.T) {
	stream := strings.ReplaceAll(openAIStream, "\n", "\r\n") + ": comment\r\n\r\n"
	tl := NewTally(true, false)
	if got := passAll(tl, stream, 5); got != stream {
		t.Fatalf("got %q", got)
	}
	if c := tl.Counts(); c.Prompt != 11 || c.Completion != 7 {
		t.Errorf("counts %+v", c)
	}
}

func TestTallyReadsOllamaNDJSON(t *testing.T) {
	stream := `{"model":"tiny","message":{"role":"assistant","content":"Hi "},"done":false}` + "\n" +
		`{"model":"tiny","message":{"role":"assistant","content":"there"},"done":false}` + "\n" +
		`{"model":"tiny","done":true,"prompt_eval_count":26,"eval_count":9}`
	tl := NewTally(false, false)
	if got := passAll(tl, stream, 7); got != stream {
		t.Fatalf("an NDJSON stream changed: %q", got)
	}
	if c := tl.Counts(); !c.Reported || c.Prompt != 26 || c.Completion != 9 || c.TextRunes != 8 {
		t.Errorf("counts %+v", c)
	}
}

// Engines that put an empty usage on every chunk (Ollama's OpenAI
// completions) have reported nothing until the last one.
func TestTallyIgnoresZeroUsage(t *testing.T) {
	stream := "data: {\"choices\":[{\"text\":\"abcd\"}],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0}}\n\n"
	tl := NewTally(true, true)
	if got := passAll(tl, stream, 4); got != stream {
		t.Fatalf("got %q", got)
	}
	if c := tl.Counts(); c.Reported || c.TextRunes != 4 {
		t.Errorf("counts %+v", c)
	}
}

func TestTallyBoundsALongLine(t *testing.T) {
	long := "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", maxHeld+10) + "\"}}]}\n\n" + usageEvent + "data: [DONE]\n\n"
	tl := NewTally(true, true)
	got := passAll(tl, long, 64<<10)
	if want := strings.Replace(long, usageEvent, "", 1); got != want {
		t.Fatalf("a line longer than the bound was not passed on whole (got %d bytes, want %d)", len(got), len(want))
	}
	if len(tl.held) > 0 && cap(tl.held) > 2*maxHeld {
		t.Errorf("held %d bytes", cap(tl.held))
	}
	if c := tl.Counts(); c.Prompt != 11 {
		t.Errorf("the counts after the long line were lost: %+v", c)
	}
}

func TestCountAnswer(t *testing.T) {
	cases := []struct {
		name, body string
		want       Counts
	}{
		{"ollama chat", `{"message":{"content":"Hello"},"done":true,"prompt_eval_count":3,"eval_count":2}`, Counts{Prompt: 3, Completion: 2, Reported: true}},
		{"openai chat", `{"choices":[{"message":{"content":"héllo"}}],"usage":{"prompt_tokens":4,"completion_tokens":5}}`, Counts{Prompt: 4, Completion: 5, Reported: true}},
		{"openai embeddings", `{"data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":6,"total_tokens":6}}`, Counts{Prompt: 6, Reported: true}},
		{"ollama embed", `{"embeddings":[[0.1]],"prompt_eval_count":8}`, Counts{Prompt: 8, Reported: true}},
		{"no counts", `{"choices":[{"message":{"content":"abcdefgh"}}]}`, Counts{TextRunes: 8}},
		{"zero counts", `{"message":{"content":"héllo"},"prompt_eval_count":0,"eval_count":0}`, Counts{TextRunes: 5}},
		{"ndjson stream held whole", "{\"message\":{\"content\":\"He\"}}\n{\"message\":{\"content\":\"llo\"},\"done\":true,\"prompt_eval_count\":3,\"eval_count\":2}\n", Counts{Prompt: 3, Completion: 2, Reported: true}},
	}
	for _, tc := range cases {
		if got := CountAnswer([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestPromptRunesAndEstimate(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"héllo"}]}]}`
	if n := PromptRunes([]byte(body)); n != 13 {
		t.Errorf("chat prompt runes %d, want 13", n)
	}
	if n := PromptRunes([]byte(`{"model":"m","input":["ab","cd"]}`)); n != 5 {
		t.Errorf("embedding input runes %d, want 5", n)
	}
	if EstimateTokens(0) != 0 || EstimateTokens(1) != 1 || EstimateTokens(8) != 2 || EstimateTokens(9) != 3 {
		t.Error("EstimateTokens is not n/4 rounded up")
	}
}

func TestWithStreamUsage(t *testing.T) {
	cases := []struct {
		name, body string
		changed    bool
	}{
		{"streaming", `{"model":"m","stream":true,"messages":[]}`, true},
		{"not streaming", `{"model":"m","messages":[]}`, false},
		{"stream false", `{"model":"m","stream":false}`, false},
		{"asked already", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, false},
		{"other options", `{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}`, true},
		{"asked not to", `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, true},
		{"not json", `{"model":`, false},
	}
	for _, tc := range cases {
		out, changed := WithStreamUsage([]byte(tc.body))
		if changed != tc.changed {
			t.Errorf("%s: changed %v", tc.name, changed)
			continue
		}
		if !changed {
			if string(out) != tc.body {
				t.Errorf("%s: body changed to %s", tc.name, out)
			}
			continue
		}
		var got struct {
			Model         string
			Stream        bool
			StreamOptions map[string]any `json:"stream_options"`
		}
		if err := json.Unmarshal(out, &got); err != nil || got.StreamOptions["include_usage"] != true || got.Model != "m" || !got.Stream {
			t.Errorf("%s: %s (%v)", tc.name, out, err)
		}
		if tc.name == "other options" && got.StreamOptions["include_obfuscation"] != false {
			t.Errorf("the client's other stream options were lost: %s", out)
		}
	}
	if out, _ := WithStreamUsage([]byte(`{"stream":true}`)); string(out) != `{"stream_options":{"include_usage":true},"stream":true}` {
		t.Errorf("a body without stream_options is not left as it came: %s", out)
	}
}

func FuzzTally(f *testing.F) {
	f.Add([]byte(openAIStream), uint8(3), true)
	f.Add([]byte(`{"done":true,"prompt_eval_count":1,"eval_count":2}`+"\n"), uint8(5), false)
	f.Add([]byte("data: {\"choices\":[]}\r\n\r\n:\n\n"), uint8(1), true)
	f.Fuzz(func(t *testing.T, stream []byte, n uint8, sse bool) {
		size := int(n) + 1
		pass := NewTally(sse, false)
		if got := passAll(pass, string(stream), size); got != string(stream) {
			t.Fatalf("a tally that does not strip changed the stream")
		}
		strip := NewTally(sse, true)
		got := passAll(strip, string(stream), size)
		if len(got) > len(stream) {
			t.Fatalf("stripping made the stream longer")
		}
		// The counts do not depend on how the stream was cut.
		whole := NewTally(sse, true)
		if all := passAll(whole, string(stream), len(stream)+1); all != got || whole.Counts() != strip.Counts() {
			t.Fatalf("parts of %d: %q / %+v; whole: %q / %+v", size, got, strip.Counts(), all, whole.Counts())
		}
	})
}

func FuzzWithStreamUsage(f *testing.F) {
	f.Add([]byte(`{"model":"m","stream":true}`))
	f.Add([]byte(`{"stream":true,"stream_options":{"x":1}}`))
	f.Add([]byte(` {"stream":true,"stream_options":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, changed := WithStreamUsage(body)
		if !changed {
			if !bytes.Equal(out, body) {
				t.Fatal("unchanged body differs")
			}
			return
		}
		var got struct {
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(out, &got); err != nil || !got.StreamOptions.IncludeUsage {
			t.Fatalf("%q became %q (%v)", body, out, err)
		}
	})
}

func TestTailCounts(t *testing.T) {
	cases := []struct {
		tail string
		want Counts
	}{
		{`0.25,0.5]],"total_duration":123,"load_duration":4,"prompt_eval_count":1800}`, Counts{Prompt: 1800, Reported: true}},
		{`0.5]}],"model":"m","usage":{"prompt_tokens":900,"total_tokens":900}}`, Counts{Prompt: 900, Reported: true}},
		{`"eval_count": 7, "prompt_eval_count" : 3}`, Counts{Prompt: 3, Completion: 7, Reported: true}},
		{`0.1,0.2]]}`, Counts{}},
		{`"usage":`, Counts{}},
	}
	for _, tc := range cases {
		if got := TailCounts([]byte(tc.tail)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.tail, got, tc.want)
		}
	}
}

func FuzzTailCounts(f *testing.F) {
	f.Add([]byte(`"prompt_eval_count":12}`))
	f.Add([]byte(`"usage":{"prompt_tokens":1}}`))
	f.Fuzz(func(t *testing.T, tail []byte) {
		c := TailCounts(tail)
		if c.Reported != (c.Prompt != 0 || c.Completion != 0) {
			t.Fatalf("%+v", c)
		}
	})
}

// BenchmarkTally is the cost of counting one short OpenAI stream (three
// chunks, the usage chunk, [DONE]) and taking its usage chunk out.
func BenchmarkTally(b *testing.B) {
	stream := []byte(openAIStream)
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		t := NewTally(true, true)
		t.Pass(stream)
		t.End()
	}
}

// Whatever the text of an answer, its counts are read as the engine wrote
// them, in either dialect: a field name inside the text never fools the
// scan.
func FuzzCountAnswer(f *testing.F) {
	f.Add(`Hello`, 12, 3)
	f.Add(`"eval_count": 99`, 1, 2)
	f.Add(`{"usage":{"prompt_tokens":7}}`, 5, 0)
	f.Fuzz(func(t *testing.T, text string, prompt, completion int) {
		if prompt < 0 || completion < 0 || prompt > 1e9 || completion > 1e9 {
			return
		}
		ollama, _ := json.Marshal(map[string]any{"message": map[string]any{"role": "assistant", "content": text},
			"done": true, "prompt_eval_count": prompt, "eval_count": completion})
		openai, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": text}}},
			"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion}})
		for _, body := range [][]byte{ollama, openai} {
			c := CountAnswer(body)
			if prompt+completion > 0 && (c.Prompt != prompt || c.Completion != completion || !c.Reported) {
				t.Fatalf("%s: counts %+v, want %d+%d", body, c, prompt, completion)
			}
			if prompt+completion == 0 && c.Reported {
				t.Fatalf("%s: zero counts reported as %+v", body, c)
			}
		}
	})
}
