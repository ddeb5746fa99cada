package usage

import (
	"context"
	"fmt"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// Query asks for usage sums over a time range, in buckets of an interval,
// optionally split by one dimension.
type Query struct {
	// TeamID limits the sums to one team; "" is every team (the
	// management API only).
	TeamID string
	// Subject limits them to one caller's usage; "" is everyone's.
	Subject  string
	From, To time.Time // [From, To), whole minutes
	Interval string    // minute, hour or day
	GroupBy  string    // "" (no split), user, key, model, engine or team
}

// Bucket is the usage of one interval (and one group, when split).
type Bucket struct {
	Start             time.Time `json:"start"`
	Group             *string   `json:"group,omitempty"`
	Requests          int64     `json:"requests"`
	PromptTokens      int64     `json:"prompt_tokens"`
	CompletionTokens  int64     `json:"completion_tokens"`
	TotalTokens       int64     `json:"total_tokens"`
	EstimatedRequests int64     `json:"estimated_requests"`
	FailedRequests    int64     `json:"failed_requests"`
}

// Intervals are the bucket sizes a query may ask for, and the longest
// range each may cover: a minute's buckets over a day, an hour's over 31
// days, a day's over the 13 months the sums are kept.
var Intervals = map[string]time.Duration{
	"minute": 24 * time.Hour,
	"hour":   31 * 24 * time.Hour,
	"day":    DefaultRollupRetention,
}

// groupColumns are the columns each group_by splits on.
var groupColumns = map[string]string{
	"user":   "subject",
	"key":    "key_id",
	"model":  "model",
	"engine": "engine",
	"team":   "team_id::text",
}

// MaxRows bounds one answer: a range that would split into more buckets
// is refused, so that a query never reads the whole ledger at once.
const MaxRows = 10_000

// ParseQuery reads a query's parameters (get returns one by name, "" when
// absent): from and to (RFC 3339, or a date, UTC; to defaults to now,
// from to a day before to), interval (default hour) and group_by
// (allowed lists those the caller may split by). A bad value is an
// attach.Invalid naming the parameter.
func ParseQuery(get func(string) string, now time.Time, allowed []string) (Query, error) {
	var q Query
	var err error
	q.To = now
	if v := get("to"); v != "" {
		if q.To, err = parseTime(v); err != nil {
			return q, attach.Invalid("to", err.Error())
		}
	}
	q.From = q.To.Add(-24 * time.Hour)
	if v := get("from"); v != "" {
		if q.From, err = parseTime(v); err != nil {
			return q, attach.Invalid("from", err.Error())
		}
	}
	q.From, q.To = q.From.UTC().Truncate(time.Minute), q.To.UTC()
	if !q.From.Before(q.To) {
		return q, attach.Invalid("from", "must be before to")
	}
	q.Interval = get("interval")
	if q.Interval == "" {
		q.Interval = "hour"
	}
	longest, ok := Intervals[q.Interval]
	if !ok {
		return q, attach.Invalid("interval", "must be minute, hour or day")
	}
	// From is cut to its minute: up to a minute more is the same range.
	if q.To.Sub(q.From) > longest+time.Minute {
		return q, attach.Invalid("from", fmt.Sprintf("the range is too long for interval %s: at most %s; narrow it or use a longer interval",
			q.Interval, formatSpan(longest)))
	}
	q.GroupBy = get("group_by")
	if q.GroupBy != "" {
		found := false
		for _, g := range allowed {
			found = found || g == q.GroupBy
		}
		if !found {
			return q, attach.Invalid("group_by", "must be one of "+strings.Join(allowed, ", "))
		}
	}
	return q, nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("must be a time as 2006-01-02T15:04:05Z or a date as 2006-01-02")
}

func formatSpan(d time.Duration) string {
	if d == 24*time.Hour {
		return "a day"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// Sums answers q from the per-minute sums, oldest bucket first. A query
// whose answer would exceed MaxRows is refused, naming from.
func (s *Store) Sums(ctx context.Context, q Query) ([]Bucket, error) {
	if _, ok := Intervals[q.Interval]; !ok {
		return nil, attach.Invalid("interval", "must be minute, hour or day")
	}
	group := "NULL::text"
	if q.GroupBy != "" {
		col, ok := groupColumns[q.GroupBy]
		if !ok {
			return nil, attach.Invalid("group_by", "unknown group")
		}
		group = col
	}
	// The interval and the group column come from the fixed lists above,
	// never from the caller's text.
	sql := `SELECT date_trunc('` + q.Interval + `', minute, 'UTC') AS bucket, ` + group + ` AS grp,
			sum(requests), sum(prompt_tokens), sum(completion_tokens), sum(estimated_requests), sum(failed_requests)
		FROM usage_minutes
		WHERE minute >= $1 AND minute < $2
			AND ($3::uuid IS NULL OR team_id = $3::uuid)
			AND ($4 = '' OR subject = $4)
		GROUP BY 1, 2
		ORDER BY 1, 2
		LIMIT $5`
	var team any // NULL: every team
	if q.TeamID != "" {
		team = q.TeamID
	}
	rows, err := s.pool.Query(ctx, sql, q.From, q.To, team, q.Subject, MaxRows+1)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	defer rows.Close()
	out := []Bucket{}
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Start, &b.Group, &b.Requests, &b.PromptTokens, &b.CompletionTokens, &b.EstimatedRequests, &b.FailedRequests); err != nil {
			return nil, fmt.Errorf("read usage: %w", err)
		}
		b.Start = b.Start.UTC()
		b.TotalTokens = b.PromptTokens + b.CompletionTokens
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	if len(out) > MaxRows {
		return nil, attach.Invalid("from", fmt.Sprintf("the answer would have more than %d rows: narrow the range, use a longer interval or group less", MaxRows))
	}
	return out, nil
}
