package main

import (
	"slices"
	"time"
)

// medianResult folds the rounds of one target into one result: the median
// of each rate and latency, and the sums of requests and failures. Rounds
// alternate between targets, so a shared machine's drift (another tenant's
// load, thermal limits) touches every target alike, and the median keeps
// one disturbed round from deciding a ratio.
func medianResult(rounds []wrkResult) wrkResult {
	if len(rounds) == 1 {
		return rounds[0]
	}
	var out wrkResult
	var rps, p50, p99 []float64
	var total time.Duration
	for _, r := range rounds {
		out.Requests += r.Requests
		out.Non2xx += r.Non2xx
		out.SocketErrors += r.SocketErrors
		rps, p50, p99 = append(rps, r.RequestsPerS), append(p50, r.P50us), append(p99, r.P99us)
		if d, err := time.ParseDuration(r.DurationInRun); err == nil {
			total += d
		}
	}
	out.RequestsPerS, out.P50us, out.P99us = median(rps), median(p50), median(p99)
	if total > 0 {
		out.DurationInRun = total.String()
	}
	return out
}

// median of xs; for an even count, the mean of the middle two.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
