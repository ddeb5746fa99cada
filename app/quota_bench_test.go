package app

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attach-dev/attach-gateway/memory"
	"github.com/attach-dev/attach-gateway/tenants"
)

// BenchmarkQuotasAndUsageThroughput measures what quotas and usage
// recording together cost a busy gateway: three side-car gateways against
// one fasthttp engine on loopback, loaded in turns by 32 connections for
// five rounds of 2 s: one with neither (usage off, no quotas), a control
// exactly like it (its ratio to the first is the machine's noise), and one
// that records every exchange in the usage ledger and whose team has a
// request limit and whose users have a token limit (both far above the
// load, so every request is admitted, pays the check and is charged). It
// reports each one's median requests/s and the ratios on/off and
// control/off. Run with -benchtime 1x: b.N does not apply.
func BenchmarkQuotasAndUsageThroughput(b *testing.B) {
	const conns, rounds, runFor = 32, 5, 2 * time.Second
	engineURL := benchEngine(b)

	type target struct {
		name string
		gw   *gateway
		tok  string
		rps  []float64
	}
	var targets []*target
	for _, name := range []string{"off", "control", "on"} {
		gw, idp := benchGatewayWith(b, engineURL, memory.BackendNone, func(c *Config) {
			c.Usage.Enabled = name == "on"
		})
		if name == "on" {
			team, _ := gw.dir.Team(gw.cfg.DefaultTeam)
			rpm, tpm := int64(tenants.MaxRPM), int64(tenants.MaxTokenLimit)
			if _, err := gw.store.SetQuotas(context.Background(), team.Team.ID, tenants.Quotas{
				Team:  tenants.Limits{RPM: &rpm},
				Users: []tenants.UserLimits{{Subject: tenants.Any, Limits: tenants.Limits{TPM: &tpm}}},
			}); err != nil {
				b.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for s, _ := gw.dir.Team(gw.cfg.DefaultTeam); s.Quotas == nil; s, _ = gw.dir.Team(gw.cfg.DefaultTeam) {
				if time.Now().After(deadline) {
					b.Fatal("quotas never reached the directory")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		targets = append(targets, &target{name: name, gw: gw, tok: idp.Token(b, "api://default")})
	}

	load := func(t *target, d time.Duration) float64 {
		client := &fasthttp.HostClient{Addr: t.gw.URL[len("http://"):], MaxConns: conns}
		var done atomic.Int64
		var failed atomic.Value
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI(t.gw.URL + "/api/chat")
				req.Header.SetMethod("POST")
				req.Header.Set("Authorization", "Bearer "+t.tok)
				req.Header.SetContentType("application/json")
				req.SetBodyString(chatBody)
				for time.Now().Before(stop) {
					if err := client.Do(req, resp); err != nil {
						failed.Store(err.Error())
						return
					}
					if resp.StatusCode() != 200 {
						failed.Store(string(resp.Body()))
						return
					}
					done.Add(1)
				}
			}()
		}
		start := time.Now()
		wg.Wait()
		if msg := failed.Load(); msg != nil {
			b.Fatalf("%s: %v", t.name, msg)
		}
		return float64(done.Load()) / time.Since(start).Seconds()
	}

	for _, t := range targets {
		load(t, time.Second) // warm-up: connections, caches, the first lease
	}
	b.ResetTimer()
	for round := range rounds {
		// Each round starts with the next target, so none is always first
		// after the others have warmed the machine up.
		for i := range targets {
			t := targets[(round+i)%len(targets)]
			t.rps = append(t.rps, load(t, runFor))
		}
	}
	b.StopTimer()
	median := func(xs []float64) float64 {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	off, control, on := median(targets[0].rps), median(targets[1].rps), median(targets[2].rps)
	b.ReportMetric(off, "off-req/s")
	b.ReportMetric(control, "control-req/s")
	b.ReportMetric(on, "on-req/s")
	b.ReportMetric(on/off, "on/off")
	b.ReportMetric(control/off, "control/off")
	b.ReportMetric(on/control, "on/control")
	if w := targets[2].gw.ledger.Stats().Written; w == 0 {
		b.Error("the gateway with usage on wrote no usage records")
	}
	b.ReportMetric(0, "ns/op") // b.N is not what is measured
	if s := targets[2].gw.quotas.Stats(); s.Local > 0 {
		b.Logf("requests decided without Postgres: %d", s.Local)
	}
	b.Logf("leases taken by the gateway with quotas: %d", targets[2].gw.quotas.Stats().Leases)
}
