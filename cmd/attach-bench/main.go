// Command attach-bench measures what the gateway costs. In one run it loads a
// minimal local engine directly, through a plain nginx reverse proxy and
// through the gateway with JWT verification on, with wrk, and prints
// requests/s, p50 and p99 for each and how the proxies compare. The gateway
// runs three times: with memory mirroring off, off again (the control, whose
// ratio to the first shows the machine's noise) and on. Besides wrk's
// closed loop at one and at many connections, a steady phase offers the
// gateways a fixed share of what they can carry, to show what mirroring
// does to a request when the CPU has room. On a machine with two CPUs or
// more the gateways are measured once more with their Postgres moved to a
// CPU of its own, as when Postgres is a server of its own.
//
//	go run ./cmd/attach-bench [-duration 5s] [-rounds 3] [-conns 32] [-skip-nginx] [-skip-db-apart]
//
// It needs bin/attach (make build), nginx and wrk (make deps).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	duration     time.Duration
	rounds       int
	warmup       time.Duration
	conns        int
	skipNginx    bool
	skipDBApart  bool
	bin          string
	logLevel     string
	memBackend   string
	weaviateURL  string
	out          string
	keep         bool
	startTimeout time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured wrk run (whole seconds)")
	flag.IntVar(&o.rounds, "rounds", 3, "measured runs per target and phase, taken in turns; the report gives their median")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the uncounted wrk run before each measured one (0: none)")
	flag.IntVar(&o.conns, "conns", 32, "connections in the throughput phase (wrk -t2 -cN)")
	flag.BoolVar(&o.skipNginx, "skip-nginx", false, "do not measure the nginx reverse proxy")
	flag.BoolVar(&o.skipDBApart, "skip-db-apart", false, "do not measure the gateways again with their Postgres on a CPU of its own")
	flag.StringVar(&o.bin, "attach", "bin/attach", "gateway binary (make build)")
	flag.StringVar(&o.logLevel, "log-level", "info", "the gateway's ATTACH_LOG_LEVEL; info keeps access logs on, as in production")
	flag.StringVar(&o.memBackend, "mem-backend", "postgres", "MEM_BACKEND of the mirroring gateway (postgres or weaviate; weaviate also needs -weaviate-url); the other gateway runs with none")
	flag.StringVar(&o.weaviateURL, "weaviate-url", "", "WEAVIATE_URL for -mem-backend weaviate")
	flag.StringVar(&o.out, "out", "testout/bench.json", "where the JSON report goes")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (configs and logs) after a successful run")
	flag.DurationVar(&o.startTimeout, "start-timeout", 90*time.Second, "how long the gateway may take to become ready")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "attach-bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			fmt.Fprintf(os.Stderr, "attach-bench: interrupted: %v\n", err)
		} else {
			fmt.Fprintf(os.Stderr, "attach-bench: %v\n", err)
		}
		os.Exit(1)
	}
}

func (o options) validate() error {
	if o.duration < time.Second {
		return errors.New("-duration must be at least 1s")
	}
	if o.warmup != 0 && o.warmup < time.Second {
		return errors.New("-warmup must be 0 or at least 1s")
	}
	if o.memBackend != "postgres" && o.memBackend != "weaviate" {
		return errors.New("-mem-backend must be postgres or weaviate: the point is to compare mirroring on with off")
	}
	if o.memBackend == "weaviate" && o.weaviateURL == "" {
		return errors.New("-mem-backend weaviate needs -weaviate-url")
	}
	if o.conns < 2 {
		return errors.New("-conns must be at least 2 (wrk -t2 needs a connection per thread)")
	}
	// The token lives one hour; every run must finish inside it.
	if o.rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	runs := 2 * 6 * (time.Duration(o.rounds)*o.duration + o.warmup)
	if runs > 50*time.Minute {
		return fmt.Errorf("-duration, -rounds and -warmup add up to %s of load; keep it under 50m (the token lives 1h)", runs)
	}
	return nil
}
