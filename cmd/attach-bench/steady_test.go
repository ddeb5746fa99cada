package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSteadyConns(t *testing.T) {
	t.Parallel()
	reports := []phaseReport{{Name: "throughput", Results: []targetResult{
		{Target: targetGateway, wrkResult: wrkResult{RequestsPerS: 10000}},
		{Target: targetGatewayMem, wrkResult: wrkResult{RequestsPerS: 2000}},
	}}}
	// 30 % of the gateway without mirroring, at 500 requests/s a connection.
	if n, err := steadyConns(reports, "throughput"); err != nil || n != 6 {
		t.Errorf("steadyConns = %d, %v; want 6", n, err)
	}
	reports[0].Results[0].RequestsPerS = 10
	if n, err := steadyConns(reports, "throughput"); err != nil || n != 1 {
		t.Errorf("a slow gateway: steadyConns = %d, %v; want at least 1", n, err)
	}
	if _, err := steadyConns(reports, "latency"); err == nil {
		t.Error("no error when the phase that sets the rate is missing")
	}
}

// TestPausedScriptLimitsRate runs the real wrk with the steady phase's
// script: each connection must wait before each request, and the clock of
// a request must not include the wait.
func TestPausedScriptLimitsRate(t *testing.T) {
	bin := requireWrk(t)
	up := testUpstream(t)
	script := filepath.Join(t.TempDir(), "paced.lua")
	if err := writeWrkScript(script, "", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b, err := readFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b, "function delay() return 50 end") {
		t.Fatalf("script lacks the pause:\n%s", b)
	}
	res, err := runWrk(context.Background(), bin, wrkRun{URL: up.url + "/api/chat", Script: script, Threads: 1, Conns: 2, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Two connections, one request per 50 ms each: about 40 a second.
	if res.RequestsPerS < 20 || res.RequestsPerS > 45 {
		t.Errorf("paced run did %.1f requests/s, want about 40", res.RequestsPerS)
	}
	if res.P50us <= 0 || res.P50us > 20_000 {
		t.Errorf("paced run's p50 %.0f µs: the pause counted as latency, or no latency read", res.P50us)
	}
}

func TestMirroringAndControlRatios(t *testing.T) {
	t.Parallel()
	p := phaseReport{Name: "steady", Threads: 2, Conns: 6, Steady: true, Results: []targetResult{
		{Target: targetGateway, wrkResult: wrkResult{RequestsPerS: 1000, P50us: 400, P99us: 1000}},
		{Target: targetControl, wrkResult: wrkResult{RequestsPerS: 990, P50us: 420, P99us: 900}},
		{Target: targetGatewayMem, wrkResult: wrkResult{RequestsPerS: 1000, P50us: 500, P99us: 2000}},
	}}
	p.compare()
	r := &report{Phases: []phaseReport{p}}
	var out strings.Builder
	if err := r.printTable(&out); err != nil {
		t.Fatal(err)
	}
	want := "steady: mirroring on/off req/s 1.000, p50 1.250, p99 2.000 (aim: within 5%); " +
		"two equal gateways, control/gateway req/s 0.990, p50 1.050, p99 0.900"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks\n%s\nin\n%s", want, out.String())
	}
}
