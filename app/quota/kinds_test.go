package quota

import (
	"testing"
	"time"
)

// Windows are the UTC minute, day and calendar month holding a moment,
// whatever its time zone.
func TestWindows(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2027, 1, 1, 0, 30, 15, 0, paris) // 2026-12-31 23:30:15 UTC
	for _, c := range []struct {
		k          *kind
		start, end string
	}{
		{kindRPM, "2026-12-31T23:30:00Z", "2026-12-31T23:31:00Z"},
		{kindTPM, "2026-12-31T23:30:00Z", "2026-12-31T23:31:00Z"},
		{kindDay, "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z"},
		{kindMon, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	} {
		s, e := c.k.window(at)
		if s.Format(time.RFC3339) != c.start || e.Format(time.RFC3339) != c.end {
			t.Errorf("%s: %s..%s, want %s..%s", c.k.name, s.Format(time.RFC3339), e.Format(time.RFC3339), c.start, c.end)
		}
	}
	// February of a leap year.
	s, e := month(time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC))
	if e.Sub(s) != 29*24*time.Hour {
		t.Errorf("February 2028 is %v long", e.Sub(s))
	}
}

// The refusal's headers follow the RateLimit fields draft: a quoted policy
// name, its quota and window, none remaining, and the seconds to reset,
// rounded up.
func TestRefusalHeaders(t *testing.T) {
	r := &Refusal{Field: "key.tokens_per_day", Policy: "key-tokens_per_day", Limit: 100000, Window: 24 * time.Hour, RetryAfter: 1500 * time.Millisecond, Unit: "tokens per day"}
	want := [][2]string{
		{"Retry-After", "2"},
		{"RateLimit-Policy", `"key-tokens_per_day";q=100000;w=86400`},
		{"RateLimit", `"key-tokens_per_day";r=0;t=2`},
	}
	got := r.Headers()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("header %d: %q, want %q", i, got[i], want[i])
		}
	}
	e := r.Err()
	if e.Code != "too_many_requests" || e.Reason != "quota_exceeded" || e.Field != "key.tokens_per_day" || e.Message != "limit of 100000 tokens per day reached; try again in 2 s" {
		t.Errorf("error %+v", e)
	}
}
