package main

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/attach-dev/attach-gateway/app"
)

const workerHelp = `Usage: attach worker

Delivers memory events from the Postgres outbox to each team's sink
(Weaviate, ...) without serving the gateway: for installs whose servers run
with ATTACH_MEM_WORKER=false (a serverless platform, say), or to scale
delivery apart from the proxy. Any number of workers and servers share the
work safely. It serves only GET /healthz and GET /metrics, on ATTACH_HOST
and PORT. SIGTERM or SIGINT stop it after the batch in hand.
`

func worker(args []string, stdout, stderr io.Writer) error {
	cfg, err := configure("worker", workerHelp, args, stdout, stderr)
	if err != nil {
		return err
	}
	log, flushLog := app.NewLogger(stderr, cfg.LogLevel, 200*time.Millisecond)
	defer flushLog()
	ctx, stop := signalContext()
	defer stop()

	pool, _, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := cfg.LoadSecretKey(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	fmt.Fprintf(stdout, "Attach worker %s: /healthz and /metrics on %s\n", version, ln.Addr())
	log.Info("memory worker started", "addr", ln.Addr().String())
	if err := app.RunWorker(ctx, cfg, pool, ln, log); err != nil {
		return err
	}
	log.Info("memory worker stopped")
	return nil
}
