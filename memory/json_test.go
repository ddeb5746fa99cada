package memory

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// jsonDocs are documents at the edges of JSON's grammar, valid or not.
var jsonDocs = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e+3`, `"x"`, `""`,
	`{"a":1}`, ` {"a" : [1, 2, {"b": null}]} `, `{"a":1,}`, `[1,]`, `{,}`, `[,1]`,
	`{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `[1 2]`, `{"a":1}}`, `{"a":1}x`,
	`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1.0e-5`, `-01`, `NaN`, `Infinity`,
	`tru`, `nul`, `True`, `nulll`, `truex`,
	`"a\"b"`, `"a\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u12"`, `"\x41"`, `"\'"`,
	"\"a\x00b\"", "\"a\tb\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", "\"\xed\xa0\x80\"",
	`"unterminated`, `"a\`, `{"a":"b`, `[`, `{`, `{"a":[`, "\ufeff{}",
	"{\"a\":1}\n", "\t[1]\r\n", "{\"a\":1}\v",
}

func TestOneJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	docs := append([]string(nil), jsonDocs...)
	docs = append(docs, nested(maxJSONDepth), nested(maxJSONDepth+1), "{\"a\":"+nested(maxJSONDepth-1)+"}", "{\"a\":"+nested(maxJSONDepth)+"}")
	for _, doc := range docs {
		_, err := oneJSON([]byte(doc))
		if want := json.Valid([]byte(doc)); (err == nil) != want {
			t.Errorf("oneJSON(%.40q) = %v; encoding/json says valid=%v", doc, err, want)
		}
	}
}

// nested is n arrays, one inside the other.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// decoderValues reads a stream with json.Decoder: the values it gives,
// and whether it stopped on an error.
func decoderValues(body []byte) (vals []string, failed bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	for d.More() {
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return vals, true
		}
		vals = append(vals, string(v))
	}
	return vals, false
}

func streamValues(body []byte) (vals []string, failed bool) {
	for rest := body; moreJSON(rest); {
		val, next, err := nextJSON(rest)
		if err != nil {
			return vals, true
		}
		vals = append(vals, string(val))
		rest = next
	}
	return vals, false
}

func TestNextJSONReadsStreamsAsDecoder(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"", "  ", "{}", "{}{}", "{} {}\n[1]\n\"s\"", "1 2 3", "12", "01", "1x", "truex", "{\"a\":1}x",
		"{\"a\":1}\n}", "{\"a\":1}\n]", "]", "}", "{\"a\":1}\n{\"b\":", "\"abc", "nul", "1.",
		"{}\n\n\n", "\n{\"a\":\n1}\n",
	} {
		got, gotFailed := streamValues([]byte(body))
		want, wantFailed := decoderValues([]byte(body))
		if strings.Join(got, "|") != strings.Join(want, "|") || gotFailed != wantFailed {
			t.Errorf("stream %q: got %q failed=%v; json.Decoder %q failed=%v", body, got, gotFailed, want, wantFailed)
		}
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tok, want string }{
		{`""`, ""},
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d"`, `a"b\c/d`},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{`"\u00e9\u20AC"`, "é€"},
		{`"\u0000"`, "\x00"},
		{`"\u2028"`, "\u2028"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},                     // a lone high surrogate
		{`"\ude00"`, "\uFFFD"},                     // a lone low surrogate
		{`"\ud83dx"`, "\uFFFDx"},                   // high, then no escape
		{`"\ud83d\u0041"`, "\uFFFDA"},              // high, then not a low surrogate
		{`"\ud83d\ud83d\ude00"`, "\uFFFD😀"},        // high, then a whole pair
		{"\"\xff\xfe\"", "\uFFFD\uFFFD"},           // each byte that is not UTF-8
		{"\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD"}, // an encoded surrogate
		{"\"é\\n\xff\"", "é\n\uFFFD"},
	} {
		var want string
		if err := json.Unmarshal([]byte(tc.tok), &want); err != nil || want != tc.want {
			t.Fatalf("test case %s: encoding/json reads %q, %v", tc.tok, want, err)
		}
		if got := unquote([]byte(tc.tok)); got != tc.want {
			t.Errorf("unquote(%s) = %q, want %q", tc.tok, got, tc.want)
		}
	}
}

func TestFieldKeyMatchesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	type fields struct {
		PromptTokens int `json:"prompt_tokens"`
	}
	for _, key := range []string{
		`"prompt_tokens"`, `"PROMPT_TOKENS"`, `"Prompt_Tokens"`, `"prompt_to\u006bens"`, `"prompt_to\u212aens"`,
		"\"prompt_to\u212aens\"", "\"prompt_to\u212aen\u017f\"", `"prompt-tokens"`, `"prompt_token"`, `"prompt_tokens "`,
		"\"prompt_tokens\xff\"",
	} {
		var f fields
		if err := json.Unmarshal([]byte(`{`+key+`:1}`), &f); err != nil {
			t.Fatal(err)
		}
		if got, want := readKeyOf(key).is("prompt_tokens"), f.PromptTokens == 1; got != want {
			t.Errorf("key %s matches: %v; encoding/json: %v", key, got, want)
		}
	}
}

// FuzzJSONRead holds the reader to encoding/json: the same documents are
// valid, streams split into the same values, strings read the same.
func FuzzJSONRead(f *testing.F) {
	for _, doc := range jsonDocs {
		f.Add([]byte(doc))
	}
	f.Add([]byte(ollamaChatStream))
	f.Add([]byte(openaiChatJSON))
	f.Fuzz(func(t *testing.T, b []byte) {
		val, err := oneJSON(b)
		if valid := json.Valid(b); (err == nil) != valid {
			t.Fatalf("oneJSON(%q): %v; encoding/json says valid=%v", b, err, valid)
		}
		if err == nil && val[0] == '"' {
			var want string
			if err := json.Unmarshal(val, &want); err != nil {
				t.Fatal(err)
			}
			if got := unquote(val); got != want {
				t.Fatalf("unquote(%q) = %q, want %q", val, got, want)
			}
		}
		got, gotFailed := streamValues(b)
		want, wantFailed := decoderValues(b)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || gotFailed != wantFailed {
			t.Fatalf("stream %q: got %q failed=%v; json.Decoder %q failed=%v", b, got, gotFailed, want, wantFailed)
		}
	})
}

func readKeyOf(tok string) fieldKey {
	k, _ := readKey([]byte(tok), 0)
	return k
}
