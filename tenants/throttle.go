package tenants

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Sign-in throttling counts failed sign-ins per key in Postgres, so every
// replica sees the same counts. A key is an account (AccountKey) or a client
// address (AddrKey); too many failures in a window lock the key for a while.
// An address may fail more often than an account before it is locked: many
// people can share one (an office, a NAT). Wrong management tokens are
// counted the same way, per address (AdminKey), apart from sign-ins.

type throttlePolicy struct {
	maxFailures int
	window      time.Duration
	lock        time.Duration
}

var (
	accountPolicy = throttlePolicy{maxFailures: 5, window: 15 * time.Minute, lock: 15 * time.Minute}
	addrPolicy    = throttlePolicy{maxFailures: 20, window: 15 * time.Minute, lock: 15 * time.Minute}
	// The management token is one random secret, so no guess will find it;
	// the limit keeps a guesser from filling the log and the CPU, and leaves
	// an operator room for a few typos.
	adminPolicy = throttlePolicy{maxFailures: 10, window: 15 * time.Minute, lock: 15 * time.Minute}
)

const (
	accountKeyPrefix = "account:"
	addrKeyPrefix    = "addr:"
	adminKeyPrefix   = "admin:"
)

// AccountKey is the throttling key of the account with email.
func AccountKey(email string) string {
	return accountKeyPrefix + strings.ToLower(strings.TrimSpace(email))
}

// AddrKey is the throttling key of a client address.
func AddrKey(ip string) string { return addrKeyPrefix + ip }

// AdminKey is the throttling key of wrong management tokens sent from a
// client address.
func AdminKey(ip string) string { return adminKeyPrefix + ip }

// policyFor gives address and management keys their own limits; any other
// key gets the account limit.
func policyFor(key string) throttlePolicy {
	switch {
	case strings.HasPrefix(key, addrKeyPrefix):
		return addrPolicy
	case strings.HasPrefix(key, adminKeyPrefix):
		return adminPolicy
	}
	return accountPolicy
}

// throttleKeys bounds the keys' length (they come from what a client typed)
// and sorts them, so concurrent calls lock rows in the same order.
func throttleKeys(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, attach.CutUTF8(k, 300))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SignInAllowed tells how long to wait before trying to sign in with these
// keys again: 0 when none of them is locked.
func (s *Store) SignInAllowed(ctx context.Context, keys ...string) (time.Duration, error) {
	var secs *float64
	err := s.pool.QueryRow(ctx,
		`SELECT extract(epoch FROM max(locked_until) - now())::float8 FROM sign_in_attempts
		 WHERE key = ANY($1) AND locked_until > now()`, throttleKeys(keys)).Scan(&secs)
	if err != nil {
		return 0, DBError("check sign-in throttle", err)
	}
	if secs == nil || *secs <= 0 {
		return 0, nil
	}
	return time.Duration(math.Ceil(*secs)) * time.Second, nil
}

// SignInFailed counts one failed sign-in against each key and locks those
// that reach their limit. A lock starts the count afresh.
func (s *Store) SignInFailed(ctx context.Context, keys ...string) error {
	keys = throttleKeys(keys)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, key := range keys {
			p := policyFor(key)
			var failures int
			err := tx.QueryRow(ctx,
				`INSERT INTO sign_in_attempts AS a (key, failures, window_start) VALUES ($1, 1, now())
				 ON CONFLICT (key) DO UPDATE SET
				   failures     = CASE WHEN a.window_start > now() - $2::float8 * interval '1 second' THEN a.failures + 1 ELSE 1 END,
				   window_start = CASE WHEN a.window_start > now() - $2::float8 * interval '1 second' THEN a.window_start ELSE now() END
				 RETURNING failures`, key, p.window.Seconds()).Scan(&failures)
			if err != nil {
				return DBError("count failed sign-in", err)
			}
			if failures < p.maxFailures {
				continue
			}
			_, err = tx.Exec(ctx,
				`UPDATE sign_in_attempts SET locked_until = now() + $2::float8 * interval '1 second', failures = 0, window_start = now()
				 WHERE key = $1`, key, p.lock.Seconds())
			if err != nil {
				return DBError("lock sign-in", err)
			}
		}
		return nil
	})
}

// SignInSucceeded forgets the failures counted against key. Pass the
// account's key only: an address that signs one account in must not wipe
// the failures it racked up guessing at others.
func (s *Store) SignInSucceeded(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sign_in_attempts WHERE key = $1", attach.CutUTF8(key, 300))
	return DBError("reset sign-in throttle", err)
}

// DeleteStaleSignInAttempts removes counts whose window and lock are both
// over, and says how many; a background job calls it now and then.
func (s *Store) DeleteStaleSignInAttempts(ctx context.Context) (int, error) {
	window := max(accountPolicy.window, addrPolicy.window, adminPolicy.window)
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM sign_in_attempts
		 WHERE window_start < now() - $1::float8 * interval '1 second' AND (locked_until IS NULL OR locked_until <= now())`,
		window.Seconds())
	if err != nil {
		return 0, DBError("delete stale sign-in counts", err)
	}
	return int(tag.RowsAffected()), nil
}
