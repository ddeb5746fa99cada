package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The three ways the upstream is called.
const (
	targetDirect  = "direct"
	targetNginx   = "nginx"
	targetGateway = "gateway"
	// The same gateway with memory mirroring on; "gateway" runs with
	// MEM_BACKEND=none, so the two differ only by the tap.
	targetGatewayMem = "gateway+mem"
	// A second gateway exactly like "gateway". The two differ by nothing,
	// so their ratio shows how far the machine's own noise moves a ratio:
	// the yardstick for the mirroring ratio.
	targetControl = "control"
)

type target struct {
	name   string
	url    string // full URL of /api/chat
	script string // wrk Lua script
	// paced is the wrk script of the steady phase: the same request after
	// a pause (gateways only).
	paced string
}

type phase struct {
	name    string
	threads int
	conns   int
	// dbApart phases run the two gateways only, with Postgres on a CPU of
	// its own (see cpuSplit).
	dbApart bool
	// steadyFrom names the phase whose gateway without mirroring sets the
	// rate of this steady phase (see steadyConns); empty for a phase that
	// sends each request as soon as the last is answered.
	steadyFrom string
}

func run(ctx context.Context, o options) (err error) {
	if err := o.validate(); err != nil {
		return err
	}
	wrkBin, err := findWrk()
	if err != nil {
		return err
	}
	nginxBin := ""
	if !o.skipNginx {
		if nginxBin, err = findNginx(); err != nil {
			return err
		}
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", o.bin, err)
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("gateway binary %s: %w (run make build)", o.bin, err)
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", o.out, err)
	}

	// Everything the run writes goes to one folder under /tmp, open to all
	// (0755) because the gateway runs its Postgres as the postgres user, which
	// must traverse every parent of its data dir.
	dir, err := os.MkdirTemp("/tmp", "attach-bench-")
	if err != nil {
		return fmt.Errorf("make temp dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("open temp dir to the postgres user: %w", err)
	}
	defer func() {
		if err != nil || o.keep {
			fmt.Fprintf(os.Stderr, "configs and logs kept in %s\n", dir)
			return
		}
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			fmt.Fprintf(os.Stderr, "remove %s: %v\n", dir, rmErr)
		}
	}()

	rep := &report{
		StartedAt:      time.Now().UTC(),
		CPUs:           runtime.NumCPU(),
		Duration:       o.duration.String(),
		Rounds:         o.rounds,
		Warmup:         o.warmup.String(),
		GatewayVersion: gatewayVersion(ctx, bin),
		GatewayLog:     o.logLevel,
		MemBackend:     o.memBackend,
	}

	up, err := startUpstream()
	if err != nil {
		return err
	}
	defer up.Close()
	is, err := startIssuer()
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = is.Close(sctx)
	}()
	token, err := is.mint(time.Now(), time.Hour)
	if err != nil {
		return err
	}

	plain := filepath.Join(dir, "plain.lua")
	if err := writeWrkScript(plain, "", 0); err != nil {
		return err
	}
	authed := filepath.Join(dir, "bearer.lua")
	if err := writeWrkScript(authed, token, 0); err != nil {
		return err
	}
	paced := filepath.Join(dir, "paced.lua")
	if err := writeWrkScript(paced, token, steadyPause); err != nil {
		return err
	}
	targets := []target{{name: targetDirect, url: up.url + "/api/chat", script: plain}}

	if !o.skipNginx {
		port, err := freePort()
		if err != nil {
			return err
		}
		ng, base, err := startNginx(ctx, nginxBin, filepath.Join(dir, "nginx"), nginxParams{
			Root:              os.Geteuid() == 0,
			Workers:           runtime.NumCPU(), // the gateway's GOMAXPROCS
			WorkerConnections: max(1024, 4*o.conns),
			Upstream:          strings.TrimPrefix(up.url, "http://"),
			Keepalive:         max(32, o.conns),
			Port:              port,
		})
		if err != nil {
			return err
		}
		defer stopChild(ng, 10*time.Second)
		targets = append(targets, target{name: targetNginx, url: base + "/api/chat", script: plain})
	}

	fmt.Fprintln(os.Stderr, "starting three gateways, mirroring off, off again and on (each first start creates a Postgres cluster)...")
	var gatewayPids []int
	for _, g := range []struct{ name, mem string }{{targetGateway, "none"}, {targetControl, "none"}, {targetGatewayMem, o.memBackend}} {
		port, err := freePort()
		if err != nil {
			return err
		}
		gwDir := filepath.Join(dir, g.name)
		if err := os.Mkdir(gwDir, 0o755); err != nil {
			return fmt.Errorf("make gateway dir: %w", err)
		}
		gwLog := filepath.Join(gwDir, "gateway.log")
		gw, base, err := startGateway(ctx, gatewayParams{
			Bin:         bin,
			DataDir:     gwDir,
			LogPath:     gwLog,
			Port:        port,
			Issuer:      is.url,
			EngineURL:   up.url,
			LogLevel:    o.logLevel,
			MemBackend:  g.mem,
			WeaviateURL: o.weaviateURL,
		}, o.startTimeout)
		if err != nil {
			return err
		}
		defer stopChild(gw, 40*time.Second)
		gatewayPids = append(gatewayPids, gw.cmd.Process.Pid)
		warnings, err := checkGateway(ctx, up, base, token)
		if err != nil {
			return fmt.Errorf("%s: %w\nlast lines of %s:\n%s", g.name, err, gwLog, tailFile(gwLog, 10))
		}
		rep.Warnings = append(rep.Warnings, warnings...)
		targets = append(targets, target{name: g.name, url: base + "/api/chat", script: authed, paced: paced})
	}

	phases := []phase{
		{name: "latency", threads: 1, conns: 1},
		{name: "throughput", threads: 2, conns: o.conns},
		{name: "steady", steadyFrom: "throughput"},
	}
	split, canSplit := splitCPUs()
	if canSplit && !o.skipDBApart {
		phases = append(phases,
			phase{name: "latency/db-apart", threads: 1, conns: 1, dbApart: true},
			phase{name: "throughput/db-apart", threads: 2, conns: o.conns, dbApart: true},
			phase{name: "steady/db-apart", dbApart: true, steadyFrom: "throughput/db-apart"})
	}
	apart := func() error { return separateDatabase(split, gatewayPids) }
	if rep.Phases, err = measure(ctx, wrkBin, o, phases, targets, apart); err != nil {
		return err
	}

	var failed []string
	for _, p := range rep.Phases {
		for _, t := range p.Results {
			if t.Non2xx > 0 {
				failed = append(failed, fmt.Sprintf("%s %s: %d non-2xx answers", p.Name, t.Target, t.Non2xx))
			}
			if t.SocketErrors > 0 {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s %s: %d socket errors", p.Name, t.Target, t.SocketErrors))
			}
		}
	}
	fmt.Println()
	if err := rep.printTable(os.Stdout); err != nil {
		return err
	}
	if err := rep.writeJSON(out); err != nil {
		return err
	}
	fmt.Printf("\nreport written to %s\n", o.out)
	if len(failed) > 0 {
		return fmt.Errorf("the numbers are not trustworthy: %s (see the gateway logs in %s)", strings.Join(failed, "; "), dir)
	}
	return nil
}

// stopChild stops a child at the end of the run and says so if it misbehaves.
func stopChild(c *child, grace time.Duration) {
	if err := c.stop(grace); err != nil {
		fmt.Fprintf(os.Stderr, "attach-bench: %v\n", err)
	}
}

// measure runs wrk for every phase and target. Targets take turns within
// each round of a phase, so slow drift of a shared machine (other load,
// thermal limits) touches every target alike, and each target's result is
// the median of its rounds.
//
// The db-apart phases come last: apart moves Postgres to its own CPU before
// the first of them, for good.
func measure(ctx context.Context, wrkBin string, o options, phases []phase, targets []target, apart func() error) ([]phaseReport, error) {
	var reports []phaseReport
	separated := false
	for _, ph := range phases {
		if ph.dbApart && !separated {
			if err := apart(); err != nil {
				return nil, fmt.Errorf("give Postgres a CPU of its own: %w", err)
			}
			separated = true
		}
		steady := ph.steadyFrom != ""
		var in []target
		for _, t := range targets {
			gateway := t.name == targetGateway || t.name == targetControl || t.name == targetGatewayMem
			if gateway || (!ph.dbApart && !steady) {
				in = append(in, t)
			}
		}
		threads, conns := ph.threads, ph.conns
		if steady {
			var err error
			if conns, err = steadyConns(reports, ph.steadyFrom); err != nil {
				return nil, err
			}
			threads = min(2, conns)
		}
		load := fmt.Sprintf("-t%d -c%d", threads, conns)
		if steady {
			load += fmt.Sprintf(", %s pause", steadyPause)
		}
		// one run of target t for d
		one := func(t target, d time.Duration) (wrkResult, error) {
			script := t.script
			if steady {
				script = t.paced
			}
			return runWrk(ctx, wrkBin, wrkRun{URL: t.url, Script: script, Threads: threads, Conns: conns, Duration: d})
		}
		rounds := make([][]wrkResult, len(in))
		for round := range o.rounds {
			for i, t := range in {
				if o.warmup > 0 && round == 0 {
					fmt.Fprintf(os.Stderr, "%-10s %-7s warm-up %s\n", ph.name, t.name, o.warmup)
					if _, err := one(t, o.warmup); err != nil {
						return nil, fmt.Errorf("warm-up: %w", err)
					}
				}
				fmt.Fprintf(os.Stderr, "%-10s %-7s %s %s (round %d of %d)\n", ph.name, t.name, load, o.duration, round+1, o.rounds)
				res, err := one(t, o.duration)
				if err != nil {
					return nil, err
				}
				rounds[i] = append(rounds[i], res)
			}
		}
		pr := phaseReport{Name: ph.name, Threads: threads, Conns: conns, DBApart: ph.dbApart, Steady: steady}
		for i, t := range in {
			pr.Results = append(pr.Results, targetResult{Target: t.name, URL: t.url, wrkResult: medianResult(rounds[i]), Rounds: rounds[i]})
		}
		pr.compare()
		reports = append(reports, pr)
	}
	return reports, nil
}
