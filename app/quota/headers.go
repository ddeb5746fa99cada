package quota

import (
	"math"
	"strconv"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Headers are the response fields that tell a refused client what limit it
// hit and when to come back: Retry-After (RFC 9110), and RateLimit-Policy
// and RateLimit of the IETF httpapi draft "RateLimit header fields for
// HTTP" (structured-field lists: the policy's quota q and window w in
// seconds; the remaining quota r and the seconds t until it resets).
func (r *Refusal) Headers() [][2]string {
	secs := seconds(r.RetryAfter)
	id := strconv.Quote(r.Policy)
	return [][2]string{
		{"Retry-After", strconv.FormatInt(secs, 10)},
		{"RateLimit-Policy", id + ";q=" + strconv.FormatInt(r.Limit, 10) + ";w=" + strconv.FormatInt(seconds(r.Window), 10)},
		{"RateLimit", id + ";r=0;t=" + strconv.FormatInt(secs, 10)},
	}
}

// Err is the refusal as the gateway's error: 429 too_many_requests,
// reason quota_exceeded, field naming the limit.
func (r *Refusal) Err() *attach.Error {
	return &attach.Error{Code: attach.CodeTooMany, Reason: "quota_exceeded", Field: r.Field,
		Message: r.Error() + "; try again in " + strconv.FormatInt(seconds(r.RetryAfter), 10) + " s"}
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}
