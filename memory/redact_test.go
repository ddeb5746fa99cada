package memory

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	r, err := NewRedactor([]string{`ACME-[0-9]{6}`, `internal_id=(?P<secret>\w+)`})
	if err != nil {
		t.Fatal(err)
	}
	const jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl_-x"
	for _, tc := range []struct{ name, in, want string }{
		{"plain text", "What is the capital of France?", "What is the capital of France?"},
		{"empty", "", ""},
		{"bearer", "use Bearer abc.def-123_XYZ/+= now", "use Bearer [REDACTED] now"},
		{"bearer lowercase", "bearer 0123456789abcdef", "bearer [REDACTED]"},
		{"bearer prose", "Bearer authentication is common", "Bearer authentication is common"},
		{"authorization header", "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED]"},
		{"authorization json", `{"authorization":"Token abcdef123"}`, `{"authorization":"Token [REDACTED]"}`},
		{"jwt", "token " + jwt + " end", "token [REDACTED] end"},
		{"jwt after bearer", "Authorization: Bearer " + jwt, "Authorization: Bearer [REDACTED]"},
		{"jwe", "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn!", "[REDACTED]!"},
		{"gateway key", "key atk_0123456789ab_Zm9vYmFyYmF6cXV4LV9hYmNkZWZnaGlqa2xtbm9wcXI.", "key [REDACTED]."},
		{"openai key", "OPENAI_KEY=sk-proj-AbCdEf0123456789GhIjKl", "OPENAI_KEY=[REDACTED]"},
		{"anthropic key", "x sk-ant-api03-abcdefghijklmnop1234 y", "x [REDACTED] y"},
		{"sk phrase", "sk-learn-is-a-python-library", "sk-learn-is-a-python-library"},
		{"risk word", "risk-assessment-0123456789-report", "risk-assessment-0123456789-report"},
		{"aws access key", "id AKIAIOSFODNN7EXAMPLE here", "id [REDACTED] here"},
		{"aws secret assignment", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [REDACTED]"},
		{"password assignment", `password: "hunter22"`, `password: "[REDACTED]"`},
		{"api key json", `{"api_key": "abcd1234"}`, `{"api_key": "[REDACTED]"}`},
		{"github token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED]"},
		{"google key", "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "[REDACTED]"},
		{"slack token", "xoxb-1234567890-abcdef", "[REDACTED]"},
		{"url credentials", "postgres://app:s3cret@db:5432/app", "postgres://[REDACTED]@db:5432/app"},
		{"private key", "k: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- done", "k: [REDACTED] done"},
		{"private key cut", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "[REDACTED]"},
		{"extra pattern", "ticket ACME-123456 filed", "ticket [REDACTED] filed"},
		{"extra pattern group", "internal_id=42abc ok", "internal_id=[REDACTED] ok"},
		{"several", "Bearer abcdefghijklmnopqrstu and AKIAIOSFODNN7EXAMPLE", "Bearer [REDACTED] and [REDACTED]"},
		{"unicode around", "ключ sk-abcdefghijklmnop1234 ключ", "ключ [REDACTED] ключ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Redact(tc.in)
			if got != tc.want {
				t.Fatalf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if again := r.Redact(got); again != got {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestNewRedactorRejectsBadPatterns(t *testing.T) {
	t.Parallel()
	for _, p := range []string{`(`, `a*`} {
		if _, err := NewRedactor([]string{p}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestCleanerText(t *testing.T) {
	t.Parallel()
	r, _ := NewRedactor(nil)
	c := cleaner{redactor: r, limit: 10}
	for _, tc := range []struct {
		in, want string
		cut      bool
	}{
		{"short", "short", false},
		{"0123456789", "0123456789", false},
		{"0123456789a", "0123456789", true},
		{"ééééé€", "ééééé", true},         // 10 bytes of é, then a 3-byte € that does not fit
		{"aaaaaaaaaé", "aaaaaaaaa", true}, // é would straddle the limit
		{"a\x00b", "ab", false},
		{"bad \xff utf8", "bad \uFFFD ut", true},
	} {
		got, cut := c.text(tc.in)
		if got != tc.want || cut != tc.cut {
			t.Errorf("text(%q) = %q, %v; want %q, %v", tc.in, got, cut, tc.want, tc.cut)
		}
		if !utf8.ValidString(got) {
			t.Errorf("text(%q) is not valid UTF-8", tc.in)
		}
	}
	// A secret that starts before the limit is redacted, not cut in half.
	c.limit = 40
	got, cut := c.text(strings.Repeat("x", 30) + " sk-abcdefghijklmnop0123456789")
	if strings.Contains(got, "sk-") || !cut {
		t.Errorf("secret across the cut: %q, %v", got, cut)
	}
}

func FuzzRedact(f *testing.F) {
	r, err := NewRedactor(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "hello", "Bearer abc", "eyJa.eyJb.c", "atk_0123456789ab_x", "password=x", "-----BEGIN PRIVATE KEY-----"} {
		f.Add(s, "sk-abcdefghijklmnop1234")
	}
	f.Fuzz(func(t *testing.T, text, noise string) {
		out := r.Redact(text)
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("valid input %q gave invalid output %q", text, out)
		}
		if again := r.Redact(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, out, again)
		}
		// A gateway key and a JWT planted anywhere, set apart by spaces,
		// never survive.
		key := "atk_0123456789ab_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw"
		jwt := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
		planted := text + " " + key + " " + noise + " " + jwt + " "
		out = r.Redact(planted)
		if strings.Contains(out, "Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw") || strings.Contains(out, "eyJzdWIiOiJ4In0") {
			t.Fatalf("secret survived in %q", out)
		}
	})
}

// oldRedact is Redact as it first was: before each rule, a substring
// search per hint, in a lower-cased copy of the text for the case-blind
// rules. The hints are those it had.
func oldRedact(r *Redactor, s string) string {
	var lower string
	for i := range r.rules {
		ru := &r.rules[i]
		hints := ru.hints
		if slices.Contains(hints, "github_pat_") {
			hints = []string{"gh", "github_pat_"} // before they were narrowed
		}
		if len(hints) > 0 {
			hay := s
			if ru.fold {
				if lower == "" {
					lower = strings.ToLower(s)
				}
				hay = lower
			}
			found := false
			for _, h := range hints {
				found = found || strings.Contains(hay, h)
			}
			if !found {
				continue
			}
		}
		if next := ru.apply(s); next != s {
			s, lower = next, ""
		}
	}
	return s
}

// redactSamples put hints and secrets where a one-pass scan could trip:
// at the very start and end, in mixed case, beside multi-byte text, and
// spelt with the characters whose lower case is ASCII (İ, the Kelvin sign
// K) or that only the regular expressions fold (ſ).
var redactSamples = []string{
	"", "k", "ke", "key", "KEY", "Key=abcd1234", "key=abcd1234", "abcd key=abcd1234",
	"password=hunter22", "PASSWORD=hunter22", "PaSsWoRd: hunter22", "pass", "xpass=hunter22",
	"paſſword=hunter22", "api_\u212aey=abcd1234", "api_\u212aey=abcd1234 and api_key=wxyz5678",
	"AUTHORİZATİON: Bearer abcdefghij0123", "authorİzation: Token abcdef123", "\u212aey=abcd1234",
	"Bearer abcdefghijklmnopqrstu", "BEARER 0123456789abcdef", "é bearer 0123456789abcdef é",
	"sk-abcdefghijklmnop1234", "x sk-abcdefghijklmnop1234", "ключ sk-abcdefghijklmnop1234",
	"sk-abcdefghijklmnop1234 ключ", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "high night",
	"though ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_pat_abcdefghijklmnopqrstuvwxyz",
	"postgres://app:s3cret@db/app", "see https://example.com/x", "https://a:b@c", "://@",
	"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "atk_0123456789ab_secretpart",
	"AKIAIOSFODNN7EXAMPLE", "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "xoxb-1234567890-abcdef",
	"-----BEGIN PRIVATE KEY-----\nMIIEvQ", "secret", "SECRET: abcd", "pwd=abcd", "\xffpass\xfeword=abc",
	"Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789 paſſword=hunter22",
	"Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln and key: value1234",
	"\u0130\u212a\u017f", "\xe2\x84", "\xc4", "é", "ke\u212a",
}

func TestRedactAsBefore(t *testing.T) {
	t.Parallel()
	r, err := NewRedactor([]string{`ACME-[0-9]{6}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range redactSamples {
		if got, want := r.Redact(s), oldRedact(r, s); got != want {
			t.Errorf("Redact(%q) = %q; before: %q", s, got, want)
		}
	}
}

func TestRedactHintsAnywhere(t *testing.T) {
	t.Parallel()
	r, err := NewRedactor(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"hint at start", "password=hunter22 is it", "password=[REDACTED] is it"},
		{"hint at end", "it is password=hunter22", "it is password=[REDACTED]"},
		{"whole text", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED]"},
		{"secret at end", "key sk-abcdefghijklmnop1234", "key [REDACTED]"},
		{"mixed case", "PassWord = hunter22", "PassWord = [REDACTED]"},
		{"upper case", "AUTHORIZATION: Basic dXNlcjpwYXNz", "AUTHORIZATION: Basic [REDACTED]"},
		{"mixed case bearer", "bEaReR 0123456789abcdef", "bEaReR [REDACTED]"},
		{"dotted capital I reads as i, but only to the hint", "AUTHORİZATİON: Basic dXNlcjpwYXNz", "AUTHORİZATİON: Basic dXNlcjpwYXNz"},
		{"kelvin sign", "api_\u212aey: abcd1234", "api_\u212aey: [REDACTED]"},
		{"multi-byte around", "日本語 password=hunter22 日本語", "日本語 password=[REDACTED] 日本語"},
		{"multi-byte inside", "pass日word=hunter22", "pass日word=hunter22"},
		{"hint split", "pas", "pas"},
		{"no separator", "the key to the secret passage", "the key to the secret passage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Redact(tc.in); got != tc.want {
				t.Fatalf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got, want := r.Redact(tc.in), oldRedact(r, tc.in); got != want {
				t.Fatalf("Redact(%q) = %q; before: %q", tc.in, got, want)
			}
		})
	}
}

func TestFoldsToASCIIComplete(t *testing.T) {
	t.Parallel()
	want := map[rune]bool{}
	for _, f := range foldsToASCII {
		r, _ := utf8.DecodeRuneInString(f.text)
		if unicode.ToLower(r) != rune(f.lower) {
			t.Errorf("%q lowers to %q, not %q", f.text, unicode.ToLower(r), f.lower)
		}
		want[r] = true
	}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if unicode.ToLower(r) < utf8.RuneSelf && !want[r] {
			t.Errorf("%U lowers to ASCII %q but is not in foldsToASCII", r, unicode.ToLower(r))
		}
	}
}

func FuzzRedactAsBefore(f *testing.F) {
	for _, s := range redactSamples {
		f.Add(s)
	}
	r, err := NewRedactor(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := r.Redact(s), oldRedact(r, s); got != want {
			t.Fatalf("Redact(%q) = %q; before: %q", s, got, want)
		}
	})
}
