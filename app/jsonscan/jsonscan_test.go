package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// SkipValue ends every kind of value where encoding/json does, strings
// long and short with escapes included.
func TestSkipValue(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 40)
	for _, v := range []string{
		`"plain"`, `""`, `"esc \" quote"`, `"ends in backslash \\"`,
		`"` + long + `\"` + long + `"`, `"` + long + `\\\\"`, `"` + long + `\\\"` + long + `"`,
		`"` + strings.Repeat(`\\`, 20) + `"`,
		`{"a":[1,{"b":"}]"}],"c":null}`, `[]`, `{}`, `-12.5e3`, `true`, `false`, `null`,
	} {
		in := []byte(v + ` , "next"`)
		if got := SkipValue(in, 0); got != len(v) {
			t.Errorf("SkipValue(%s) = %d, want %d", v, got, len(v))
		}
	}
	if got := SkipSpace([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("SkipSpace = %d, want 5", got)
	}
	if got := SkipSpace([]byte("  "), 0); got != 2 {
		t.Errorf("SkipSpace of only space = %d, want 2", got)
	}
}

// For any valid value, SkipValue ends where json.Decoder does.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`"a\"b"`, `{"k":[1,2,"]"]}`, `"` + strings.Repeat(`\\`, 17) + `"`, `12`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := bytes.TrimLeft([]byte(s), " \t\r\n")
		if len(b) == 0 || !json.Valid(b) {
			return
		}
		d := json.NewDecoder(bytes.NewReader(b))
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		want := len(bytes.TrimRight(b, " \t\r\n"))
		if got := SkipValue(b, 0); got != want {
			t.Fatalf("SkipValue(%q) = %d, want %d", b, got, want)
		}
	})
}
