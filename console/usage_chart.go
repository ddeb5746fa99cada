package console

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A usage chart is drawn on the server as inline SVG: no chart library, no
// CDN, nothing the page has to fetch. Bars stack the tokens of each series
// (a model or a user) per time bucket. Everything with text — the scale,
// the time axis, the legend — is plain HTML around the SVG, so it stays
// readable when the SVG is squeezed to a 360 px screen.

// chartSeriesMax is how many series get their own colour; the rest are
// summed into "other" so the legend stays short.
const chartSeriesMax = 6

// chartOther names the series that sums the smaller ones.
const chartOther = "other"

// usagePoint is one value of the chart's input: the tokens of series Key in
// the bucket that starts at Bucket.
type usagePoint struct {
	Bucket time.Time
	Key    string
	Tokens int64
}

// usageChart is what the template draws.
type usageChart struct {
	Series  []string      // legend order: largest total first, "other" last
	Buckets []chartBucket // in time order, one per step from the start
	Max     int64         // the largest bucket total: the top of the scale
	Total   int64
	Step    time.Duration
}

// chartBucket is one bar: its start and the value of each series, in the
// order of usageChart.Series.
type chartBucket struct {
	Start  time.Time
	Values []int64
	Total  int64
}

// buildUsageChart arranges points into buckets of step from `from` until
// `to`, empty buckets included, so that time reads evenly left to right.
// Points outside [from, to) are left out. At most maxBuckets bars are
// drawn: the caller picks a step that fits.
func buildUsageChart(points []usagePoint, from, to time.Time, step time.Duration) usageChart {
	c := usageChart{Step: step}
	if step <= 0 || !to.After(from) {
		return c
	}
	from = from.Truncate(step)
	n := int((to.Sub(from) + step - 1) / step)
	if n > maxChartBuckets {
		n = maxChartBuckets
	}

	// Only points inside the range count toward a series' rank.
	inRange := func(t time.Time) (int, bool) {
		if t.Before(from) {
			return 0, false
		}
		i := int(t.Sub(from) / step)
		return i, i < n
	}
	totals := map[string]int64{}
	for _, p := range points {
		if _, ok := inRange(p.Bucket); ok {
			totals[p.Key] += p.Tokens
		}
	}
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b], totals[a]), strings.Compare(a, b))
	})
	index := map[string]int{}
	for i, k := range keys {
		if i < chartSeriesMax || len(keys) == chartSeriesMax+1 {
			index[k] = i
			c.Series = append(c.Series, k)
			continue
		}
		if i == chartSeriesMax {
			c.Series = append(c.Series, chartOther)
		}
		index[k] = chartSeriesMax
	}

	c.Buckets = make([]chartBucket, n)
	for i := range c.Buckets {
		c.Buckets[i] = chartBucket{Start: from.Add(time.Duration(i) * step), Values: make([]int64, len(c.Series))}
	}
	for _, p := range points {
		i, ok := inRange(p.Bucket)
		if !ok {
			continue
		}
		b := &c.Buckets[i]
		b.Values[index[p.Key]] += p.Tokens
		b.Total += p.Tokens
		c.Total += p.Tokens
	}
	for _, b := range c.Buckets {
		c.Max = max(c.Max, b.Total)
	}
	return c
}

// maxChartBuckets bounds the bars of one chart: more would be thinner than
// a pixel on a phone.
const maxChartBuckets = 400

// Geometry of the SVG's own coordinates: each bar is barWidth wide with a
// gap after it; the height is chartHeight. The SVG is stretched to the
// page's width (preserveAspectRatio none), so only proportions matter.
const (
	barWidth    = 8
	barGap      = 2
	chartHeight = 100
)

func (c usageChart) viewBox() string {
	return "0 0 " + strconv.Itoa(len(c.Buckets)*(barWidth+barGap)) + " " + strconv.Itoa(chartHeight)
}

// chartRect is one coloured part of a bar.
type chartRect struct {
	X, Y, W, H float64
	Series     int
}

// rects lays out bucket i's stacked parts, bottom up in legend order.
func (c usageChart) rects(i int) []chartRect {
	if c.Max <= 0 {
		return nil
	}
	b := c.Buckets[i]
	x := float64(i * (barWidth + barGap))
	y := float64(chartHeight)
	var out []chartRect
	for s, v := range b.Values {
		if v <= 0 {
			continue
		}
		h := float64(v) / float64(c.Max) * chartHeight
		y -= h
		out = append(out, chartRect{X: x, Y: y, W: barWidth, H: h, Series: s})
	}
	return out
}

// barTitle is the tooltip and the accessible text of one bar.
func (c usageChart) barTitle(i int) string {
	b := c.Buckets[i]
	var sb strings.Builder
	sb.WriteString(chartTime(b.Start, c.Step))
	sb.WriteString(": ")
	sb.WriteString(thousands(b.Total))
	sb.WriteString(" tokens")
	sep := " ("
	for s, v := range b.Values {
		if v > 0 {
			sb.WriteString(sep + c.Series[s] + " " + thousands(v))
			sep = ", "
		}
	}
	if sep == ", " {
		sb.WriteString(")")
	}
	return sb.String()
}

// chartTime prints a bucket's start as precisely as its step needs.
func chartTime(t time.Time, step time.Duration) string {
	t = t.UTC()
	switch {
	case step >= 24*time.Hour:
		return t.Format("2006-01-02")
	default:
		return t.Format("2006-01-02 15:04") + " UTC"
	}
}

// first and last are the times under the chart's two ends.
func (c usageChart) first() string {
	if len(c.Buckets) == 0 {
		return ""
	}
	return chartTime(c.Buckets[0].Start, c.Step)
}

func (c usageChart) last() string {
	if len(c.Buckets) == 0 {
		return ""
	}
	return chartTime(c.Buckets[len(c.Buckets)-1].Start, c.Step)
}

// seriesClass is the CSS class that colours series s; the colours are
// theme variables, so the chart follows light and dark.
func seriesClass(s int) string { return "series-" + strconv.Itoa(s) }

// fnum prints an SVG coordinate with two decimals at most.
func fnum(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

// thousands prints n with thin separators: 1234567 -> "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
