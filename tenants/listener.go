package tenants

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// listenerAppName marks the listener's session in pg_stat_activity.
const listenerAppName = "attach-listener"

// Listener is a process's one LISTEN session: it listens on every channel a
// handler was registered for, on a dedicated connection (outside the pool,
// so it never starves queries), and hands each notice to its channel's
// handler. It reconnects with backoff when the connection is lost.
type Listener struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	channels []string // in the order registered
	handlers map[string]Handler
}

// Handler follows one channel. An error from either function ends the
// session: the listener reconnects and runs every Ready again.
type Handler struct {
	// Ready runs after every (re)connection, once listening and before any
	// notice is handed over. Notices sent while nobody listened are lost,
	// so Ready picks up whatever changed meanwhile. Nil: nothing to do.
	Ready func(ctx context.Context) error
	// Notice handles one notice's payload. It runs on the listener's
	// goroutine, so it must be quick: the other channels wait for it.
	Notice func(ctx context.Context, payload string) error
}

// NewListener makes a listener with no handlers; register them with Handle,
// then call Run.
func NewListener(pool *pgxpool.Pool, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.Default()
	}
	return &Listener{pool: pool, log: logger, handlers: map[string]Handler{}}
}

// Handle registers h for channel. Call it before Run.
func (l *Listener) Handle(channel string, h Handler) {
	if _, ok := l.handlers[channel]; !ok {
		l.channels = append(l.channels, channel)
	}
	l.handlers[channel] = h
}

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 10 * time.Second
	backoff := minBackoff
	for {
		listened, err := l.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = minBackoff
		}
		l.log.Warn("listener lost, reconnecting", "channels", l.channels, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// session runs one LISTEN session; listened reports whether it got as far
// as listening, which resets the backoff.
func (l *Listener) session(ctx context.Context) (listened bool, err error) {
	cfg := l.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = listenerAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect listener: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range l.channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, fmt.Errorf("listen on %s: %w", ch, err)
		}
	}
	// Listening first, catching up second: a change made in between is
	// both caught up on and announced, never neither.
	for _, ch := range l.channels {
		if ready := l.handlers[ch].Ready; ready != nil {
			if err := ready(ctx); err != nil {
				return true, fmt.Errorf("catch up on %s: %w", ch, err)
			}
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		if err := l.handlers[n.Channel].Notice(ctx, n.Payload); err != nil {
			return true, fmt.Errorf("handle notice on %s: %w", n.Channel, err)
		}
	}
}
