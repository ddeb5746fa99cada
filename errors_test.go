package attach

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCode(t *testing.T) {
	cause := errors.New("connection reset")
	wrapped := fmt.Errorf("get team: %w", &Error{Code: CodeUnavailable, Message: "the database did not answer", Err: cause})
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{cause, CodeInternal},
		{NotFound("team"), CodeNotFound},
		{wrapped, CodeUnavailable},
	}
	for _, c := range cases {
		if got := ErrorCode(c.err); got != c.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is not in the chain")
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{NotFound("team"), "team not found"},
		{Invalid("slug", "must be lowercase"), "slug: must be lowercase"},
		{&Error{Code: CodeUnavailable, Message: "search failed", Err: errors.New("dial tcp: refused")}, "search failed: dial tcp: refused"},
		{&Error{Code: CodeConflict}, "conflict"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestValidSlug(t *testing.T) {
	for _, s := range []string{"a", "acme", "team-2", "0", "a-", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"} {
		if !ValidSlug(s) {
			t.Errorf("ValidSlug(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-a", "Acme", "a_b", "a b", "é", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"} {
		if ValidSlug(s) {
			t.Errorf("ValidSlug(%q) = true", s)
		}
	}
}

func TestCutUTF8(t *testing.T) {
	cases := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is two bytes: never half of it
		{"héllo", 3, "hé"},
		{"日本", 2, ""},
	}
	for _, c := range cases {
		if got := CutUTF8(c.s, c.n); got != c.want {
			t.Errorf("CutUTF8(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
