package main

import (
	"io"
	"os"
	"time"

	"github.com/attach-dev/attach-gateway/app"
)

const workerHelp = `Usage: attach worker

Delivers memory events from the Postgres outbox to each team's sink
(Weaviate, ...) without serving HTTP: for installs whose servers run with
ATTACH_MEM_WORKER=false (a serverless platform, say), or to scale delivery
apart from the proxy. Any number of workers and servers share the work
safely. SIGTERM or SIGINT stop it after the batch in hand.
`

func worker(args []string, stdout, stderr io.Writer) error {
	fs := flags("worker", workerHelp, stdout, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	log, flushLog := app.NewLogger(stderr, cfg.LogLevel, 200*time.Millisecond)
	defer flushLog()
	ctx, stop := signalContext()
	defer stop()

	pool, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := cfg.LoadSecretKey(); err != nil {
		return err
	}
	log.Info("memory worker started")
	if err := app.RunWorker(ctx, cfg, pool, log); err != nil {
		return err
	}
	log.Info("memory worker stopped")
	return nil
}
