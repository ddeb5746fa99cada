package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A report as wrk 4.1 prints it with --latency, with errors.
const wrkSample = `Running 10s test @ http://127.0.0.1:8080/api/chat
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.64ms    1.26ms   7.36ms   82.60%
    Req/Sec     6.10k   388.70     7.20k    70.00%
  Latency Distribution
     50%  812.00us
     75%    3.05ms
     90%    4.75ms
     99%    1.20s
  121930 requests in 10.00s, 37.15MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 17
Requests/sec:  12191.43
Transfer/sec:      3.71MB
`

func TestParseWrk(t *testing.T) {
	t.Parallel()
	got, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{
		Requests:      121930,
		RequestsPerS:  12191.43,
		P50us:         812,
		P99us:         1.2e6,
		Non2xx:        17,
		SocketErrors:  6,
		DurationInRun: "10.00s",
	}
	if got != want {
		t.Errorf("parseWrk:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseWrkWithoutLatencyFails(t *testing.T) {
	t.Parallel()
	var kept []string
	for _, line := range strings.Split(wrkSample, "\n") {
		if !strings.Contains(line, "%  ") {
			kept = append(kept, line)
		}
	}
	_, err := parseWrk(strings.Join(kept, "\n"))
	if err == nil || !strings.Contains(err.Error(), "50% latency") {
		t.Fatalf("parseWrk without a latency distribution: err = %v, want one naming the 50%% latency", err)
	}
}

func TestToMicros(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		num, unit string
		want      float64
	}{
		{"812.00", "us", 812},
		{"1.50", "ms", 1500},
		{"2.01", "s", 2.01e6},
		{"1.50", "m", 90e6},
	} {
		got, err := toMicros(c.num, c.unit)
		if err != nil || math.Abs(got-c.want) > 1e-6 {
			t.Errorf("toMicros(%s%s) = %v, %v; want %v", c.num, c.unit, got, err, c.want)
		}
	}
	if _, err := toMicros("1", "ns"); err == nil {
		t.Error("toMicros accepted an unknown unit")
	}
}

func TestLuaScriptCarriesToken(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.lua")
	if err := writeWrkScript(path, "abc.def.ghi", 0); err != nil {
		t.Fatal(err)
	}
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`wrk.method = "POST"`, `wrk.body = [[` + chatBody + `]]`, `wrk.headers["Authorization"] = [[Bearer abc.def.ghi]]`} {
		if !strings.Contains(b, want) {
			t.Errorf("script lacks %q:\n%s", want, b)
		}
	}
}

// requireWrk fails the test, naming the install step, when wrk is missing.
// With -short it skips the test: each wrk run takes seconds.
func requireWrk(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs wrk for seconds; skipped with -short")
	}
	bin, err := findWrk()
	if err != nil {
		t.Fatalf("%v (make bench runs it)", err)
	}
	return bin
}

// TestWrkAgainstUpstream runs the real wrk with the bench's script against
// the stand-in engine and checks the bench reads its report.
func TestWrkAgainstUpstream(t *testing.T) {
	t.Parallel()
	bin := requireWrk(t)
	up := testUpstream(t)
	script := filepath.Join(t.TempDir(), "plain.lua")
	if err := writeWrkScript(script, "", 0); err != nil {
		t.Fatal(err)
	}
	res, err := runWrk(context.Background(), bin, wrkRun{URL: up.url + "/api/chat", Script: script, Threads: 1, Conns: 2, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.RequestsPerS <= 0 || res.P50us <= 0 || res.P99us < res.P50us {
		t.Errorf("implausible result %+v", res)
	}
	if res.Non2xx != 0 {
		t.Errorf("the upstream answered %d non-2xx responses to the bench's request", res.Non2xx)
	}

	// A wrong path must show up as non-2xx, or the bench would hide errors.
	res, err = runWrk(context.Background(), bin, wrkRun{URL: up.url + "/nope", Script: script, Threads: 1, Conns: 1, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Non2xx == 0 || res.Non2xx != res.Requests {
		t.Errorf("404s not counted: %+v", res)
	}
}

func TestRunWrkReportsFailure(t *testing.T) {
	t.Parallel()
	bin := requireWrk(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "plain.lua")
	if err := writeWrkScript(script, "", 0); err != nil {
		t.Fatal(err)
	}
	_, err = runWrk(context.Background(), bin, wrkRun{URL: "http://127.0.0.1:" + itoa(port) + "/api/chat", Script: script, Threads: 1, Conns: 1, Duration: time.Second})
	if err == nil {
		t.Fatal("wrk against a closed port: no error")
	}
}
