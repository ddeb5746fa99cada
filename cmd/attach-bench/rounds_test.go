package main

import "testing"

// The median keeps one disturbed round from deciding a target's figures;
// counts add up over the rounds.
func TestMedianResult(t *testing.T) {
	t.Parallel()
	got := medianResult([]wrkResult{
		{Requests: 100, RequestsPerS: 10, P50us: 300, P99us: 900, Non2xx: 1, DurationInRun: "5.00s"},
		{Requests: 300, RequestsPerS: 30, P50us: 100, P99us: 9000, SocketErrors: 2, DurationInRun: "5.00s"},
		{Requests: 200, RequestsPerS: 20, P50us: 200, P99us: 1000, DurationInRun: "5.01s"},
	})
	want := wrkResult{Requests: 600, RequestsPerS: 20, P50us: 200, P99us: 1000, Non2xx: 1, SocketErrors: 2, DurationInRun: "15.01s"}
	if got != want {
		t.Fatalf("medianResult = %+v, want %+v", got, want)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Fatalf("median of an even count = %v, want 2.5", m)
	}
	one := wrkResult{Requests: 7, RequestsPerS: 7}
	if got := medianResult([]wrkResult{one}); got != one {
		t.Fatalf("one round: %+v, want it unchanged", got)
	}
}
