package proxy

import (
	"testing"
	"unicode/utf8"
)

// FuzzModelOf checks the byte walker against encoding/json on any body.
func FuzzModelOf(f *testing.F) {
	for _, s := range []string{
		`{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`,
		`{"name":"x","model":null}`,
		`{"MODEL":"a","model":"b"}`,
		`{"a":{"model":"no"},"model":"yes"}`,
		`{"model":"a\"b\\c\u00e9"}`,
		`{"mo\u0064el":"x"}`,
		`[{"model":"x"}]`,
		`{"model":12}`,
		` {} `,
		`{"model":"x"`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, withName bool) {
		if !utf8.Valid(body) {
			// encoding/json replaces invalid UTF-8 in strings; engines
			// see the raw bytes, and so does routing.
			return
		}
		got, err := modelOf(body, withName)
		want, wantErr := modelOfSlow(body, withName)
		if isBlank(body) {
			want, wantErr = "", nil
		}
		if got != want || (err != nil) != (wantErr != nil) {
			t.Fatalf("modelOf(%q, %v) = %q, %v; encoding/json says %q, %v", body, withName, got, err, want, wantErr)
		}
	})
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
