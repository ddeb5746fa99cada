package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// report is one bench run, printed as a table and written as JSON.
type report struct {
	StartedAt      time.Time     `json:"started_at"`
	CPUs           int           `json:"cpus"`
	Duration       string        `json:"duration"`
	Rounds         int           `json:"rounds"`
	Warmup         string        `json:"warmup"`
	GatewayVersion string        `json:"gateway_version"`
	GatewayLog     string        `json:"gateway_log_level"`
	MemBackend     string        `json:"gateway_mem_backend,omitempty"`
	Phases         []phaseReport `json:"phases"`
	Warnings       []string      `json:"warnings,omitempty"`
}

// phaseReport holds every target's numbers for one wrk setting and how the
// proxies compare with calling the upstream directly.
type phaseReport struct {
	Name    string `json:"name"`
	Threads int    `json:"threads"`
	Conns   int    `json:"conns"`
	// DBApart: Postgres ran on a CPU of its own, the rest on the others.
	DBApart bool `json:"db_apart,omitempty"`
	// Steady: every connection paused steadyPause before each request.
	Steady  bool           `json:"steady,omitempty"`
	Results []targetResult `json:"results"`

	// Throughput ratios: 1.0 means the proxy costs nothing.
	GatewayOverDirectRPS *float64 `json:"gateway_over_direct_rps,omitempty"`
	GatewayOverNginxRPS  *float64 `json:"gateway_over_nginx_rps,omitempty"`
	// Latency the proxy adds at the median, in microseconds.
	GatewayAddedP50us *float64 `json:"gateway_added_p50_us,omitempty"`
	NginxAddedP50us   *float64 `json:"nginx_added_p50_us,omitempty"`
	// Mirroring into memory on, over off: 1.0 means the tap costs nothing.
	MemOverNoMemRPS *float64 `json:"mem_over_nomem_rps,omitempty"`
	MemOverNoMemP50 *float64 `json:"mem_over_nomem_p50,omitempty"`
	MemOverNoMemP99 *float64 `json:"mem_over_nomem_p99,omitempty"`
	// The control gateway over the gateway: two equal gateways, so any
	// distance from 1.0 is the machine's noise.
	ControlOverGatewayRPS *float64 `json:"control_over_gateway_rps,omitempty"`
	ControlOverGatewayP50 *float64 `json:"control_over_gateway_p50,omitempty"`
	ControlOverGatewayP99 *float64 `json:"control_over_gateway_p99,omitempty"`
}

// targetResult is one target's median over the rounds, and the rounds.
type targetResult struct {
	Target string `json:"target"`
	URL    string `json:"url"`
	wrkResult
	Rounds []wrkResult `json:"rounds,omitempty"`
}

func (p *phaseReport) result(target string) *wrkResult {
	for i := range p.Results {
		if p.Results[i].Target == target {
			return &p.Results[i].wrkResult
		}
	}
	return nil
}

// compare fills in the ratios and added latencies from the results.
func (p *phaseReport) compare() {
	direct, nginx, gw := p.result(targetDirect), p.result(targetNginx), p.result(targetGateway)
	ratio := func(a, b float64) *float64 {
		if b == 0 {
			return nil
		}
		r := a / b
		return &r
	}
	diff := func(a, b float64) *float64 { d := a - b; return &d }
	if gw != nil && direct != nil {
		p.GatewayOverDirectRPS = ratio(gw.RequestsPerS, direct.RequestsPerS)
		p.GatewayAddedP50us = diff(gw.P50us, direct.P50us)
	}
	if gw != nil && nginx != nil {
		p.GatewayOverNginxRPS = ratio(gw.RequestsPerS, nginx.RequestsPerS)
	}
	if nginx != nil && direct != nil {
		p.NginxAddedP50us = diff(nginx.P50us, direct.P50us)
	}
	if mem := p.result(targetGatewayMem); mem != nil && gw != nil {
		p.MemOverNoMemRPS = ratio(mem.RequestsPerS, gw.RequestsPerS)
		p.MemOverNoMemP50 = ratio(mem.P50us, gw.P50us)
		p.MemOverNoMemP99 = ratio(mem.P99us, gw.P99us)
	}
	if ctl := p.result(targetControl); ctl != nil && gw != nil {
		p.ControlOverGatewayRPS = ratio(ctl.RequestsPerS, gw.RequestsPerS)
		p.ControlOverGatewayP50 = ratio(ctl.P50us, gw.P50us)
		p.ControlOverGatewayP99 = ratio(ctl.P99us, gw.P99us)
	}
}

func (r *report) printTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\ttarget\tconns\treq/s\tp50 µs\tp99 µs\tnon-2xx\tsocket errors\t\n")
	for _, p := range r.Phases {
		for _, t := range p.Results {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%d\t%d\t\n",
				p.Name, t.Target, p.Conns, t.RequestsPerS, t.P50us, t.P99us, t.Non2xx, t.SocketErrors)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	fmt.Fprintln(w)
	for _, p := range r.Phases {
		var rps, p50 []string
		if p.GatewayOverDirectRPS != nil {
			rps = append(rps, fmt.Sprintf("gateway/direct %.2f", *p.GatewayOverDirectRPS))
		}
		if p.GatewayOverNginxRPS != nil {
			rps = append(rps, fmt.Sprintf("gateway/nginx %.2f", *p.GatewayOverNginxRPS))
		}
		if p.GatewayAddedP50us != nil {
			p50 = append(p50, fmt.Sprintf("gateway %+.0f µs", *p.GatewayAddedP50us))
		}
		if p.NginxAddedP50us != nil {
			p50 = append(p50, fmt.Sprintf("nginx %+.0f µs", *p.NginxAddedP50us))
		}
		if len(rps) > 0 || len(p50) > 0 {
			fmt.Fprintf(w, "%s (-t%d -c%d): req/s %s; p50 added over direct: %s\n",
				p.Name, p.Threads, p.Conns, strings.Join(rps, ", "), strings.Join(p50, ", "))
		}
		if on := ratios(p.MemOverNoMemRPS, p.MemOverNoMemP50, p.MemOverNoMemP99); on != "" {
			line := fmt.Sprintf("%s: mirroring on/off %s (aim: within 5%%)", p.Name, on)
			if ctl := ratios(p.ControlOverGatewayRPS, p.ControlOverGatewayP50, p.ControlOverGatewayP99); ctl != "" {
				line += fmt.Sprintf("; two equal gateways, control/gateway %s", ctl)
			}
			fmt.Fprintln(w, line)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

// ratios prints a pair of gateways' ratios, or "" when they were not both
// measured.
func ratios(rps, p50, p99 *float64) string {
	if rps == nil || p50 == nil || p99 == nil {
		return ""
	}
	return fmt.Sprintf("req/s %.3f, p50 %.3f, p99 %.3f", *rps, *p50, *p99)
}

func (r *report) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make report folder: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
