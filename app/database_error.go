package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckDatabase connects once to the Postgres at DATABASE_URL and says, in
// one line that names the variable, why it cannot be used. pgx's own
// message lists every address and TLS attempt it made, which repeats the
// same cause two to four times; an operator needs the cause once.
func CheckDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return &ConfigError{"DATABASE_URL", "not a Postgres URL or key=value DSN"}
	}
	where := describeDatabase(cfg)
	conn, err := pgconn.ConnectConfig(ctx, &cfg.ConnConfig.Config)
	if err != nil {
		return &ConfigError{"DATABASE_URL", "cannot connect to " + where + ": " + connectCause(err)}
	}
	conn.Close(ctx)
	return nil
}

// connectCause is the root of a failed connection attempt, in words that do
// not repeat the address (the caller names it) and never hold the password.
func connectCause(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "host not found"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		msg := opErr.Err.Error()
		// "connect: connection refused" -> "connection refused"
		if _, after, ok := strings.Cut(msg, ": "); ok && opErr.Op == "dial" {
			msg = after
		}
		return msg
	}
	// Whatever else pgx says: its last line, which is the cause.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return strings.TrimSpace(msg)
}

// DescribeDatabase names the Postgres dsn reaches, without its password:
// "Postgres at db.internal:5432 (user "attach", database "attach")".
func DescribeDatabase(dsn string) string {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return "Postgres at an unreadable DATABASE_URL"
	}
	return describeDatabase(cfg)
}

func describeDatabase(cfg *pgxpool.Config) string {
	cc := cfg.ConnConfig
	host := cc.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, fmt.Sprint(cc.Port))
	}
	return fmt.Sprintf("Postgres at %s (user %q, database %q)", host, cc.User, cc.Database)
}
