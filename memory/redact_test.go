package memory

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
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
	for _, p := range []string{`(`, `a*`} {
		if _, err := NewRedactor([]string{p}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestCleanerText(t *testing.T) {
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
