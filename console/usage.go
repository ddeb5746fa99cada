package console

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/usage"
)

// UsageReader answers usage sums from the ledger (tenants/usage.Store).
type UsageReader interface {
	Sums(ctx context.Context, q usage.Query) ([]usage.Bucket, error)
}

// needTeamUsage: owners and admins see the whole team's usage; members
// and viewers their own, as on the usage API.
var needTeamUsage need = tenants.Role.CanManageTeam

// usageRange is one of the periods the page offers, with the bucket size
// its chart uses.
type usageRange struct {
	Name     string
	Label    string
	Span     time.Duration
	Interval string
	Step     time.Duration
}

var usageRanges = []usageRange{
	{"24h", "Last 24 hours", 24 * time.Hour, "hour", time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour, "hour", 6 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour, "day", 24 * time.Hour},
}

// usageGroups are what the chart can be split by.
var usageGroups = []string{"model", "user"}

// usageView is what the Usage page shows.
type usageView struct {
	Range, By string
	Ranges    []usageRange
	All       bool // the team's usage, not only the viewer's
	Off       bool // the install records no usage
	Chart     usageChart
	Users     []usageRow
	Keys      []usageRow
	From, To  time.Time
	// Team is the team's own limits and how far today and this month
	// are into them; empty when the team has none.
	Team []string
	// TooMany: the period has more users or keys than the page lists.
	TooMany bool
}

// usageRow is one line of the per-user or per-key table.
type usageRow struct {
	Name     string // a person's or key's name; the subject when unknown
	Subject  string // the X-Attach-User of a person or key
	Requests int64
	Prompt   int64
	Output   int64
	Total    int64
	Share    int // percent of the period's tokens
	// Limits are the quotas that apply, in words ("" for none); Today is
	// the tokens of the current UTC day, with how much of the daily limit
	// they are when there is one.
	Limits, Today string
	Near          bool // 80 % or more of the daily limit
}

// usageQuery reads the page's range and grouping from the URL; unknown
// values fall back to the defaults (the form offers only valid ones).
func usageQuery(fc *fiber.Ctx) (usageRange, string) {
	r := usageRanges[0]
	for _, x := range usageRanges {
		if x.Name == fc.Query("range") {
			r = x
		}
	}
	by := usageGroups[0]
	if slices.Contains(usageGroups, fc.Query("by")) {
		by = fc.Query("by")
	}
	return r, by
}

func (c *Console) usagePage(fc *fiber.Ctx) error {
	t := current(fc)
	r, by := usageQuery(fc)
	v := usageView{Range: r.Name, By: by, Ranges: usageRanges, All: needTeamUsage(t.role), Off: c.usage == nil}
	ch := c.teamChrome(fc, "Usage", "usage")
	if v.Off {
		return render(fc, fiber.StatusOK, usagePage(ch, v))
	}
	ctx := fc.UserContext()
	now := time.Now().UTC()
	q := periodQuery(fc, r, now, v.All)
	v.From, v.To = q.From, q.To

	names, err := c.memberNames(ctx, t.team.ID, me(fc).user, v.All)
	if err != nil {
		return c.internal(fc, "name members", err)
	}
	q.GroupBy = by
	buckets, err := c.usage.Sums(ctx, q)
	if attach.ErrorCode(err) == attach.CodeInvalid && q.Interval != "day" {
		// Too many rows at this grain (a large team over a week): the
		// chart draws days instead.
		q.Interval, r.Step = "day", 24*time.Hour
		v.From = v.From.Truncate(r.Step)
		buckets, err = c.usage.Sums(ctx, q)
	}
	if err != nil {
		return c.usageFail(fc, err)
	}
	points := make([]usagePoint, 0, len(buckets))
	for _, b := range buckets {
		key := groupName(b.Group)
		if by == "user" {
			key = subjectName(names, key)
		}
		points = append(points, usagePoint{Bucket: b.Start, Key: key, Tokens: b.TotalTokens})
	}
	v.Chart = buildUsageChart(points, v.From, v.To, r.Step)

	// The tables add the whole period up, per user and per key, beside
	// their limits and today's tokens.
	quotas, err := c.store.Quotas(ctx, t.team.ID)
	if err != nil {
		return c.usageFail(fc, err)
	}
	whole := q
	whole.Interval = "day"
	// A period with more rows than one ledger answer holds (a very large
	// team over 30 days) is said so, instead of failing the page.
	tooMany := func(err error) bool { return attach.ErrorCode(err) == attach.CodeInvalid }
	if v.Users, err = c.usageTable(ctx, whole, "user", names, quotas, now); tooMany(err) {
		v.TooMany = true
	} else if err != nil {
		return c.usageFail(fc, err)
	}
	if v.All {
		if v.Keys, err = c.usageTable(ctx, whole, "key", names, quotas, now); tooMany(err) {
			v.TooMany = true
		} else if err != nil {
			return c.usageFail(fc, err)
		}
		if v.Team, err = c.teamLimits(ctx, t.team.ID, quotas.Team, now); err != nil {
			return c.usageFail(fc, err)
		}
	}
	return render(fc, fiber.StatusOK, usagePage(ch, v))
}

// usageTable sums q's period per group (user or key), largest first, with
// each one's limits and tokens of today.
func (c *Console) usageTable(ctx context.Context, q usage.Query, group string, names map[string]string, quotas *tenants.Quotas, now time.Time) ([]usageRow, error) {
	q.GroupBy = group
	buckets, err := c.usage.Sums(ctx, q)
	if err != nil {
		return nil, err
	}
	day := q
	day.From, day.To = now.Truncate(24*time.Hour), ledgerEnd(now)
	todays, err := c.usage.Sums(ctx, day)
	if err != nil {
		return nil, err
	}
	today := map[string]int64{}
	for _, b := range todays {
		today[groupName(b.Group)] += b.TotalTokens
	}
	rows := map[string]*usageRow{}
	var total int64
	for _, b := range buckets {
		g := groupName(b.Group)
		total += b.TotalTokens
		if group == "key" && g == "" {
			continue // calls made without a key: in the share's whole only
		}
		r := rows[g]
		if r == nil {
			subject := g
			if group == "key" {
				subject = attach.SubjectPrefixAPIKey + g
			}
			r = &usageRow{Name: subjectName(names, subject), Subject: subject}
			rows[g] = r
		}
		r.Requests += b.Requests
		r.Prompt += b.PromptTokens
		r.Output += b.CompletionTokens
		r.Total += b.TotalTokens
	}
	out := make([]usageRow, 0, len(rows))
	for k, r := range rows {
		if total > 0 {
			r.Share = int(r.Total * 100 / total)
		}
		var l tenants.Limits
		if group == "key" {
			l, _ = quotas.Key(k)
		} else {
			l, _ = quotas.User(k)
		}
		r.Limits = limitWords(l)
		r.Today, r.Near = against(today[k], l.TokensPerDay)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b usageRow) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// ledgerEnd is the end of a period that ends now: the ledger sums by the
// minute, and the current minute counts.
func ledgerEnd(now time.Time) time.Time { return now.UTC().Truncate(time.Minute).Add(time.Minute) }

// periodQuery asks the ledger for range r up to now, in the range's
// buckets: the team's usage, or (all false) the viewer's own.
func periodQuery(fc *fiber.Ctx, r usageRange, now time.Time, all bool) usage.Query {
	to := ledgerEnd(now)
	q := usage.Query{TeamID: current(fc).team.ID, From: to.Add(-r.Span).Truncate(r.Step), To: to, Interval: r.Interval}
	if !all {
		q.Subject = attach.UserSubject(me(fc).user.ID)
	}
	return q
}

func groupName(g *string) string {
	if g == nil {
		return ""
	}
	return *g
}

// subjectName is a user's or key's name for a subject, else the subject.
func subjectName(names map[string]string, subject string) string {
	if n, ok := names[subject]; ok {
		return n
	}
	return subject
}

// usageCSV downloads the period's sums per bucket and group, as the
// usage API answers them: for a spreadsheet or a bill.
func (c *Console) usageCSV(fc *fiber.Ctx) error {
	if c.usage == nil {
		return c.notFound(fc)
	}
	t := current(fc)
	r, by := usageQuery(fc)
	all := needTeamUsage(t.role)
	q := periodQuery(fc, r, time.Now(), all)
	q.GroupBy = by
	buckets, err := c.usage.Sums(fc.UserContext(), q)
	if attach.ErrorCode(err) == attach.CodeInvalid {
		return c.fail(fc, attach.AsError(err)) // more rows than one answer holds: 422
	}
	if err != nil {
		return c.usageFail(fc, err)
	}
	names := map[string]string{}
	if by == "user" {
		if names, err = c.memberNames(fc.UserContext(), t.team.ID, me(fc).user, all); err != nil {
			return c.internal(fc, "name members", err)
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"start", by, "name", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "estimated_requests", "failed_requests"})
	for _, x := range buckets {
		g := groupName(x.Group)
		name := g
		if by == "user" {
			name = subjectName(names, g)
		}
		_ = w.Write([]string{isoTime(x.Start), csvSafe(g), csvSafe(name),
			strconv.FormatInt(x.Requests, 10), strconv.FormatInt(x.PromptTokens, 10),
			strconv.FormatInt(x.CompletionTokens, 10), strconv.FormatInt(x.TotalTokens, 10),
			strconv.FormatInt(x.EstimatedRequests, 10), strconv.FormatInt(x.FailedRequests, 10)})
	}
	w.Flush()
	fc.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	fc.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="usage-%s-%s-by-%s.csv"`, t.team.Slug, r.Name, by))
	fc.Set(fiber.HeaderCacheControl, "no-store")
	return fc.SendString(b.String())
}

// usageFail answers a failed ledger read: a deleted team is 404, the rest
// is ours.
func (c *Console) usageFail(fc *fiber.Ctx, err error) error {
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return c.notFound(fc)
	}
	return c.internal(fc, "read usage", err)
}

// keyTokens is each key's tokens of the last 24 hours, by key id, for the
// Keys page; nil when the install records no usage.
func (c *Console) keyTokens(ctx context.Context, teamID string) (map[string]int64, error) {
	if c.usage == nil {
		return nil, nil
	}
	to := ledgerEnd(time.Now())
	buckets, err := c.usage.Sums(ctx, usage.Query{TeamID: teamID, From: to.Add(-24 * time.Hour), To: to, Interval: "day", GroupBy: "key"})
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, b := range buckets {
		out[groupName(b.Group)] += b.TotalTokens
	}
	return out, nil
}

func usageCaption(v usageView) string {
	if v.By == "user" {
		return "Tokens by user or key"
	}
	return "Tokens by model"
}

// limitWords says a scope's limits briefly: "60/min · 10,000 tokens/min".
func limitWords(l tenants.Limits) string {
	var parts []string
	add := func(n *int64, unit string) {
		if n != nil {
			parts = append(parts, thousands(*n)+unit)
		}
	}
	add(l.RPM, " requests/min")
	add(l.TPM, " tokens/min")
	add(l.TokensPerDay, " tokens/day")
	add(l.MonthlyTokens, " tokens/month")
	return strings.Join(parts, " · ")
}

// against is used tokens, and of a limit when there is one: "1,234 of
// 10,000 (12 %)"; near says 80 % or more.
func against(used int64, limit *int64) (string, bool) {
	if limit == nil {
		return thousands(used), false
	}
	if *limit == 0 {
		return thousands(used) + " of 0 (blocked)", true
	}
	pct := used * 100 / *limit
	return fmt.Sprintf("%s of %s (%d %%)", thousands(used), thousands(*limit), pct), pct >= 80
}

// teamLimits is the team's limits and how far today and this month are
// into them, one line each; nil when the team has no limits.
func (c *Console) teamLimits(ctx context.Context, teamID string, l tenants.Limits, now time.Time) ([]string, error) {
	if !l.Any() {
		return nil, nil
	}
	lines := []string{"Limits: " + limitWords(l)}
	end := ledgerEnd(now)
	sum := func(from time.Time) (int64, error) {
		bs, err := c.usage.Sums(ctx, usage.Query{TeamID: teamID, From: from, To: end, Interval: "day"})
		var n int64
		for _, b := range bs {
			n += b.TotalTokens
		}
		return n, err
	}
	if l.TokensPerDay != nil {
		n, err := sum(now.Truncate(24 * time.Hour))
		if err != nil {
			return nil, err
		}
		s, _ := against(n, l.TokensPerDay)
		lines = append(lines, "Today: "+s)
	}
	if l.MonthlyTokens != nil {
		n, err := sum(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return nil, err
		}
		s, _ := against(n, l.MonthlyTokens)
		lines = append(lines, "This month: "+s)
	}
	return lines, nil
}
