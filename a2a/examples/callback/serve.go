package callback

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Serve serves an agent's handler on ln until ctx ends, then shuts it down
// within five seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Command is what a demo agent's command runs: its name, the address it
// listens on by default, and how to serve once the common flags are read.
type Command struct {
	Name          string
	DefaultListen string
	Serve         func(ctx context.Context, ln net.Listener, gw Gateway, log *slog.Logger) error
}

// Main reads the flags every demo agent takes (-listen, -gateway, -team;
// each defaults to its environment variable), with any the command defined
// before calling it, and serves until SIGINT or SIGTERM.
func (c Command) Main() {
	listen := flag.String("listen", Env("ATTACH_AGENT_LISTEN", c.DefaultListen), "address to listen on (loopback by default)")
	gateway := flag.String("gateway", Env("ATTACH_GATEWAY", "http://127.0.0.1:8080"), "the gateway's URL")
	team := flag.String("team", Env("ATTACH_TEAM", ""), "the team's slug (empty: the gateway's default team)")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		log.Info(c.Name+" listening", "addr", ln.Addr().String(), "gateway", *gateway, "team", *team)
		err = c.Serve(ctx, ln, Gateway{URL: *gateway, Team: *team}, log)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "attach-%s: %v\n", c.Name, err)
		os.Exit(1)
	}
}

// Env is the environment variable name, or def when it is empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
