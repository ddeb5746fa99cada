package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareAndOutput(t *testing.T) {
	t.Parallel()
	p := phaseReport{Name: "latency", Threads: 1, Conns: 1, Results: []targetResult{
		{Target: targetDirect, wrkResult: wrkResult{RequestsPerS: 10000, P50us: 80, P99us: 150}},
		{Target: targetNginx, wrkResult: wrkResult{RequestsPerS: 5000, P50us: 180, P99us: 300}},
		{Target: targetGateway, wrkResult: wrkResult{RequestsPerS: 4000, P50us: 230, P99us: 400}},
	}}
	p.compare()
	for name, c := range map[string]struct {
		got  *float64
		want float64
	}{
		"gateway/direct": {p.GatewayOverDirectRPS, 0.4},
		"gateway/nginx":  {p.GatewayOverNginxRPS, 0.8},
		"gateway p50":    {p.GatewayAddedP50us, 150},
		"nginx p50":      {p.NginxAddedP50us, 100},
	} {
		if c.got == nil || *c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}

	r := &report{Phases: []phaseReport{p}}
	var table strings.Builder
	if err := r.printTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gateway/direct 0.40", "gateway/nginx 0.80", "gateway +150 µs", "nginx +100 µs"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	path := filepath.Join(t.TempDir(), "testout", "bench.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Phases[0].Results[2]; got.Target != targetGateway || got.P50us != 230 {
		t.Errorf("JSON round trip: %+v", got)
	}
}

func TestCompareWithoutNginx(t *testing.T) {
	t.Parallel()
	p := phaseReport{Results: []targetResult{
		{Target: targetDirect, wrkResult: wrkResult{RequestsPerS: 100, P50us: 80}},
		{Target: targetGateway, wrkResult: wrkResult{RequestsPerS: 50, P50us: 100}},
	}}
	p.compare()
	if p.GatewayOverNginxRPS != nil || p.NginxAddedP50us != nil {
		t.Error("nginx comparisons without an nginx result")
	}
	if p.GatewayOverDirectRPS == nil || *p.GatewayOverDirectRPS != 0.5 {
		t.Errorf("gateway/direct = %v, want 0.5", p.GatewayOverDirectRPS)
	}
}
