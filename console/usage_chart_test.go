package console

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBuildUsageChartFillsEveryBucket(t *testing.T) {
	from := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	to := from.Add(6 * time.Hour)
	pts := []usagePoint{
		{Bucket: from, Key: "llama", Tokens: 100},
		{Bucket: from.Add(2 * time.Hour), Key: "qwen", Tokens: 300},
		{Bucket: from.Add(2 * time.Hour), Key: "llama", Tokens: 50},
		{Bucket: from.Add(-time.Hour), Key: "llama", Tokens: 999}, // before the range
		{Bucket: to, Key: "llama", Tokens: 999},                   // after it
	}
	c := buildUsageChart(pts, from, to, time.Hour)
	if len(c.Buckets) != 6 {
		t.Fatalf("buckets = %d, want 6 (empty hours too)", len(c.Buckets))
	}
	if got := strings.Join(c.Series, ","); got != "qwen,llama" {
		t.Errorf("series = %s, want the largest first", got)
	}
	if c.Total != 450 || c.Max != 350 {
		t.Errorf("total, max = %d, %d; want 450, 350", c.Total, c.Max)
	}
	if b := c.Buckets[2]; b.Total != 350 || b.Values[0] != 300 || b.Values[1] != 50 {
		t.Errorf("bucket 2 = %+v", b)
	}
	if c.Buckets[1].Total != 0 || !c.Buckets[1].Start.Equal(from.Add(time.Hour)) {
		t.Errorf("bucket 1 = %+v, want an empty 11:00", c.Buckets[1])
	}
}

func TestBuildUsageChartSumsTheSmallSeriesAsOther(t *testing.T) {
	from := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var pts []usagePoint
	for i := range 9 {
		pts = append(pts, usagePoint{Bucket: from, Key: fmt.Sprintf("user-%d", i), Tokens: int64(100 - i)})
	}
	c := buildUsageChart(pts, from, from.Add(24*time.Hour), 24*time.Hour)
	if len(c.Series) != chartSeriesMax+1 || c.Series[chartSeriesMax] != chartOther {
		t.Fatalf("series = %v, want %d named and other", c.Series, chartSeriesMax)
	}
	if got, want := c.Buckets[0].Values[chartSeriesMax], int64(94+93+92); got != want {
		t.Errorf("other = %d, want %d", got, want)
	}
	if c.Total != c.Buckets[0].Total {
		t.Errorf("total %d != the one bar's %d", c.Total, c.Buckets[0].Total)
	}
}

func TestBuildUsageChartBoundsTheBars(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := buildUsageChart(nil, from, from.AddDate(1, 0, 0), time.Minute)
	if len(c.Buckets) != maxChartBuckets {
		t.Errorf("buckets = %d, want at most %d", len(c.Buckets), maxChartBuckets)
	}
	if c := buildUsageChart(nil, from, from, time.Hour); len(c.Buckets) != 0 {
		t.Errorf("an empty range drew %d bars", len(c.Buckets))
	}
}

// svgDoc is the part of the drawn SVG the tests read.
type svgDoc struct {
	Bars []struct {
		Title string `xml:"title"`
		Rects []struct {
			Class  string `xml:"class,attr"`
			Y      string `xml:"y,attr"`
			Height string `xml:"height,attr"`
		} `xml:"rect"`
	} `xml:"g"`
}

func TestUsageChartDrawsBarsToScale(t *testing.T) {
	from := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := buildUsageChart([]usagePoint{
		{Bucket: from, Key: "llama", Tokens: 1000},
		{Bucket: from.Add(time.Hour), Key: "llama", Tokens: 250},
		{Bucket: from.Add(time.Hour), Key: "qwen", Tokens: 250},
	}, from, from.Add(3*time.Hour), time.Hour)
	var buf bytes.Buffer
	if err := usageChartView("chart", c, "Tokens by model").Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	start, end := strings.Index(html, "<svg"), strings.Index(html, "</svg>")
	if start < 0 || end < 0 {
		t.Fatalf("no svg in %s", html)
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(html[start:end+len("</svg>")]), &doc); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	if len(doc.Bars) != 2 {
		t.Fatalf("bars = %d, want 2 (the empty hour draws none)", len(doc.Bars))
	}
	height := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("height %q: %v", s, err)
		}
		return f
	}
	if h := height(doc.Bars[0].Rects[0].Height); h != chartHeight {
		t.Errorf("the tallest bar is %v high, want the full %d", h, chartHeight)
	}
	second := doc.Bars[1].Rects
	if len(second) != 2 || height(second[0].Height) != 25 || height(second[1].Height) != 25 || second[1].Y != "50" {
		t.Errorf("second bar = %+v, want two stacked quarters", second)
	}
	if !strings.Contains(doc.Bars[1].Title, "500 tokens (llama 250, qwen 250)") {
		t.Errorf("title = %q", doc.Bars[1].Title)
	}
	for _, want := range []string{"1,000", "2026-12-06 10:00 UTC", "2026-12-06 12:00 UTC", `class="swatch series-1"`} {
		if !strings.Contains(html, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
