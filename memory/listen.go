package memory

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres channels of the memory bus.
const (
	// WakeChannel is notified when outbox or erasure rows are added.
	WakeChannel = "attach_memory"
	// SettingsChannel is notified, with the team id, when a team's memory
	// settings change.
	SettingsChannel = "attach_memory_settings"
)

// listener keeps a LISTEN session open on a dedicated connection (outside
// the pool, so it never starves queries), reconnecting with backoff.
type listener struct {
	pool    *pgxpool.Pool
	channel string
	appName string // marks the session in pg_stat_activity
	log     *slog.Logger
	// ready runs once listening, before the first notice is read: anything
	// that changed while nobody listened must be picked up there.
	ready func(ctx context.Context) error
	// notice handles one notification; an error ends the session, and the
	// reconnection runs ready again.
	notice func(ctx context.Context, payload string) error
}

// run listens until ctx ends, then returns nil.
func (l *listener) run(ctx context.Context) error {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 10 * time.Second
	backoff := minBackoff
	for {
		listened, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = minBackoff
		}
		l.log.Warn("memory listener lost, reconnecting", "channel", l.channel, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func (l *listener) session(ctx context.Context) (listened bool, err error) {
	cfg := l.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = l.appName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect listener: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen on %s: %w", l.channel, err)
	}
	if l.ready != nil {
		if err := l.ready(ctx); err != nil {
			return true, err
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		if err := l.notice(ctx, n.Payload); err != nil {
			return true, err
		}
	}
}
