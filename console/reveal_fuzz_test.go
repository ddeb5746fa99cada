package console

import (
	"bytes"
	"testing"
)

// FuzzOpenReveal feeds arbitrary cookie values to the reveal cookie's
// reader: it must never panic, and only a value it sealed itself opens.
func FuzzOpenReveal(f *testing.F) {
	c := &Console{cfg: Config{CookieKey: bytes.Repeat([]byte{3}, 32)}}
	f.Add("")
	f.Add("not base64!")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("eyJrIjoia2V5In0")
	f.Fuzz(func(t *testing.T, raw string) {
		if r, ok := c.openReveal(raw); ok {
			t.Fatalf("a cookie not sealed by the console opened: %+v", r)
		}
	})
}
