package quota

import (
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

// kind is one sort of limit: what it counts, over which window, and how
// big a slice of the window's remainder one lease may take.
type kind struct {
	name   string // the limit's field name: rpm, tpm, tokens_per_day, monthly_tokens
	tokens bool   // counts tokens (charged by Measure) rather than requests
	// window returns the fixed window holding t: minute, UTC day or UTC
	// calendar month.
	window func(t time.Time) (start, end time.Time)
	// capDiv bounds a lease to limit/capDiv, so that a replica that dies
	// holding a lease strands little of a long window's allowance.
	capDiv int64
	unit   string // for messages: "requests per minute"
}

var (
	kindRPM = &kind{name: "rpm", window: minute, capDiv: 8, unit: "requests per minute"}
	kindTPM = &kind{name: "tpm", tokens: true, window: minute, capDiv: 8, unit: "tokens per minute"}
	kindDay = &kind{name: "tokens_per_day", tokens: true, window: day, capDiv: 100, unit: "tokens per day"}
	kindMon = &kind{name: "monthly_tokens", tokens: true, window: month, capDiv: 1000, unit: "tokens per month"}
)

// tokenKinds are the kinds Measure charges.
var tokenKinds = []*kind{kindTPM, kindDay, kindMon}

// limitOf reads the limit of kind k from l; nil is no limit.
func limitOf(l tenants.Limits, k *kind) *int64 {
	switch k {
	case kindRPM:
		return l.RPM
	case kindTPM:
		return l.TPM
	case kindDay:
		return l.TokensPerDay
	default:
		return l.MonthlyTokens
	}
}

func minute(t time.Time) (time.Time, time.Time) {
	s := t.UTC().Truncate(time.Minute)
	return s, s.Add(time.Minute)
}

func day(t time.Time) (time.Time, time.Time) {
	u := t.UTC()
	s := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return s, s.AddDate(0, 0, 1)
}

func month(t time.Time) (time.Time, time.Time) {
	u := t.UTC()
	s := time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	return s, s.AddDate(0, 1, 0)
}
