package tenants

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Sign-in throttling counts failed sign-ins per key in Postgres, so every
// replica sees the same counts. Three keys are counted for each password
// sign-in (SignInKeys), so that knowing someone's email is not enough to
// lock them out:
//
//   - the client address and the account together (PairKey): the tight
//     limit. A guesser at one address is stopped after a few tries, and the
//     owner signing in from anywhere else is not affected;
//   - the client address alone (AddrKey): a looser limit across accounts,
//     against one address spraying a password over many emails. Many
//     people may share an address (an office, a NAT), hence looser;
//   - the account alone (AccountKey): a slow limit, against guessing spread
//     over many addresses. Past it each further failure only delays the
//     account for a short while instead of locking it for long, so a
//     distributed guesser gets few tries an hour and the owner waits a
//     minute at worst.
//
// IPv6 clients are counted by their /64 network: one host usually holds a
// whole /64, so counting single addresses would give it endless fresh
// ones. Wrong management tokens are counted per address (AdminKey), apart
// from sign-ins.

type throttlePolicy struct {
	maxFailures int
	window      time.Duration
	lock        time.Duration
	// delay keeps the count after a lock, so every failure past
	// maxFailures in the window locks the key for lock again: a steady
	// short delay rather than a long lock that starts over.
	delay bool
}

var (
	pairPolicy    = throttlePolicy{maxFailures: 5, window: 15 * time.Minute, lock: 15 * time.Minute}
	addrPolicy    = throttlePolicy{maxFailures: 20, window: 15 * time.Minute, lock: 15 * time.Minute}
	accountPolicy = throttlePolicy{maxFailures: 30, window: time.Hour, lock: time.Minute, delay: true}
	// The management token is one random secret, so no guess will find it;
	// the limit keeps a guesser from filling the log and the CPU, and leaves
	// an operator room for a few typos.
	adminPolicy = throttlePolicy{maxFailures: 10, window: 15 * time.Minute, lock: 15 * time.Minute}
)

const (
	pairKeyPrefix    = "pair:"
	accountKeyPrefix = "account:"
	addrKeyPrefix    = "addr:"
	adminKeyPrefix   = "admin:"
)

// Throttle scopes, as SignInFailure reports them and the audit log shows.
const (
	ThrottlePair    = "address_account"
	ThrottleAddr    = "address"
	ThrottleAccount = "account"
	ThrottleAdmin   = "admin_token"
)

func accountName(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// clientNet is what an address is counted as: an IPv4 address itself, an
// IPv6 address's /64 network. Anything unparsable is taken as it is.
func clientNet(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// SignInKeys are the keys a password sign-in for email from client address
// ip is counted under: address and account together, address, account.
func SignInKeys(ip, email string) []string {
	return []string{PairKey(ip, email), AddrKey(ip), AccountKey(email)}
}

// PairKey is the throttling key of an account tried from a client address.
func PairKey(ip, email string) string {
	return pairKeyPrefix + clientNet(ip) + " " + accountName(email)
}

// AccountKey is the throttling key of the account with email, whatever the
// address.
func AccountKey(email string) string {
	return accountKeyPrefix + accountName(email)
}

// AddrKey is the throttling key of a client address.
func AddrKey(ip string) string { return addrKeyPrefix + clientNet(ip) }

// AdminKey is the throttling key of wrong management tokens sent from a
// client address.
func AdminKey(ip string) string { return adminKeyPrefix + clientNet(ip) }

// policyFor gives each kind of key its limits, and says its scope.
func policyFor(key string) (throttlePolicy, string) {
	switch {
	case strings.HasPrefix(key, pairKeyPrefix):
		return pairPolicy, ThrottlePair
	case strings.HasPrefix(key, addrKeyPrefix):
		return addrPolicy, ThrottleAddr
	case strings.HasPrefix(key, adminKeyPrefix):
		return adminPolicy, ThrottleAdmin
	}
	return accountPolicy, ThrottleAccount
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

// ThrottleLock is a lock a failed sign-in set off: the scope of the key
// (ThrottlePair, ThrottleAddr, ThrottleAccount, ThrottleAdmin) and for how
// long.
type ThrottleLock struct {
	Scope string
	For   time.Duration
}

// SignInFailed counts one failed sign-in against each key and locks those
// that reach their limit.
func (s *Store) SignInFailed(ctx context.Context, keys ...string) error {
	_, err := s.SignInFailure(ctx, keys...)
	return err
}

// SignInFailure counts one failed sign-in against each key, locks those
// that reach their limit and says which it locked, for the audit log. A
// lock starts the count afresh, except for delay policies, where each
// further failure in the window locks again.
func (s *Store) SignInFailure(ctx context.Context, keys ...string) ([]ThrottleLock, error) {
	keys = throttleKeys(keys)
	var locks []ThrottleLock
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		locks = locks[:0]
		for _, key := range keys {
			p, scope := policyFor(key)
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
			lockSQL := `UPDATE sign_in_attempts SET locked_until = now() + $2::float8 * interval '1 second', failures = 0, window_start = now()
				 WHERE key = $1`
			if p.delay {
				lockSQL = `UPDATE sign_in_attempts SET locked_until = now() + $2::float8 * interval '1 second' WHERE key = $1`
			}
			if _, err = tx.Exec(ctx, lockSQL, key, p.lock.Seconds()); err != nil {
				return DBError("lock sign-in", err)
			}
			locks = append(locks, ThrottleLock{Scope: scope, For: p.lock})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return locks, nil
}

// SignInSucceeded forgets the failures counted against key. Pass the
// address-and-account key only: an address that signs one account in must
// not wipe the failures it racked up guessing at others, nor may one
// address's success wipe what other addresses guessed at the account.
func (s *Store) SignInSucceeded(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sign_in_attempts WHERE key = $1", attach.CutUTF8(key, 300))
	return DBError("reset sign-in throttle", err)
}

// DeleteStaleSignInAttempts removes counts whose window and lock are both
// over, and says how many; a background job calls it now and then.
func (s *Store) DeleteStaleSignInAttempts(ctx context.Context) (int, error) {
	window := max(pairPolicy.window, accountPolicy.window, addrPolicy.window, adminPolicy.window)
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM sign_in_attempts
		 WHERE window_start < now() - $1::float8 * interval '1 second' AND (locked_until IS NULL OR locked_until <= now())`,
		window.Seconds())
	if err != nil {
		return 0, DBError("delete stale sign-in counts", err)
	}
	return int(tag.RowsAffected()), nil
}
