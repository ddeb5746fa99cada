// Package quota enforces a team's quotas (requests per minute, tokens per
// minute, per day and per month, for the team, each user and each API key)
// across every replica of the gateway, without a Postgres round trip per
// request.
//
// # Leases
//
// Postgres keeps one counter row per limit and window (quota_counters).
// A replica never asks it about a single request: it leases a slice of what
// remains in the window (one INSERT ... ON CONFLICT DO UPDATE ... RETURNING)
// and spends the slice in memory. A lease is an eighth of the remainder,
// capped per kind (an eighth of a minute's limit, a hundredth of a day's,
// a thousandth of a month's), at least 1 and never more than remains; the
// row lock orders concurrent leases. The next lease is taken in the
// background when a quarter of the last one is left, so requests wait for
// Postgres only when a replica runs dry, and then for at most the budget.
//
// # Bounds
//
// Requests, from above: a request is admitted only by spending a leased
// unit, and a lease is granted under the counter row's lock as
// used += g with g <= limit - used, so the leases of a window add up to at
// most the limit: replicas together never admit more than the limit, by
// any number of replicas (outside a Postgres outage, below).
//
// Requests, from below: what replicas fail to admit is what they hold
// unspent when the window's allowance has all been leased. A replica holds
// its lease and at most one lease taken ahead, each at most an eighth of
// what remained when it was granted, so the leases held shrink with the
// remainder and end as single units. Traffic reaching a replica spends its
// lease; a replica no request has drawn on for IdleReturn (2 s) gives its
// lease back, and a replica that found the window spent asks again after
// Recheck (1 s) and takes what was given back. So the allowance follows
// the load: with load on every replica, as in the three-replica tests,
// they admit the whole limit (300 of 300); what can be stranded is at most
// N × 2 × ⌈R/8⌉ for N replicas and R the remainder at their last lease,
// and only for the last IdleReturn + Recheck of a window.
//
// Tokens: the engine's count arrives after the answer (Measure). Admission
// reserves what an exchange is expected to use (the bucket's running
// average of tokens per exchange) from the lease, and Measure settles the
// difference; tokens past the lease are a debt, charged to the window with
// the next lease in the background. Tokens used can therefore pass the
// limit only by what the requests in flight when it ran out used beyond
// their reservations: at most (requests in flight) × (largest exchange),
// and about nothing when exchanges are alike. Only metered routes reserve,
// and a reservation no exchange settles (the request failed before the
// engine) goes back to the lease within two minutes, so day and month
// budgets do not leak.
//
// # Postgres outages
//
// A hosted gateway fails open, to local limits: when a lease cannot be had
// within the budget (ATTACH_QUOTA_DB_BUDGET, default 250 ms), the request is
// decided on this replica's own count against the whole limit, and after a
// failure the replica does not ask again for ATTACH_QUOTA_DB_RETRY (1 s).
// So an outage never blocks requests longer than the budget, and every
// replica still holds each caller to the limit on its own; the total across
// N replicas may reach N times the limit for as long as Postgres is away.
// Refusing everything while Postgres is away would turn a database blip into
// an outage of every team's traffic, which quotas exist to shape, not stop.
package quota

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Config is how a Limiter reaches Postgres and how patient it is.
type Config struct {
	DB DB
	// Budget is the longest a request waits for a lease before it is
	// decided on the replica's own count.
	Budget time.Duration
	// Retry is how long a replica keeps to its own counts after Postgres
	// failed, before asking again.
	Retry time.Duration
	// FetchTimeout bounds one lease statement in the background.
	FetchTimeout time.Duration
	// LeaseDivisor: a lease is 1/LeaseDivisor of what remains. Default 8.
	LeaseDivisor int64
	// IdleReturn: a lease no request has drawn on for this long goes back
	// to the window, for the other replicas. Default 2s.
	IdleReturn time.Duration
	// Recheck: once a window's allowance is spent, requests are refused
	// without asking Postgres for this long; then it is asked again, for
	// leases other replicas gave back. Default 1s.
	Recheck time.Duration
	// DefaultTeam and UserTPM are side-car mode's MAX_TOKENS_PER_MIN: a
	// tokens-per-minute limit for every user of the default team that
	// the team's quotas do not set otherwise. 0 is none.
	DefaultTeam string
	UserTPM     int64
	// Team finds a team by id, for Measure.
	Team   func(id string) (*tenants.Snapshot, bool)
	Logger *slog.Logger
	// Now is the clock that picks windows; nil is time.Now. Tests fix it
	// so a run never straddles two windows.
	Now func() time.Time
}

// Limiter admits requests and charges tokens against the quotas.
type Limiter struct {
	cfg     Config
	mu      sync.RWMutex
	buckets map[bucketKey]*bucket

	fetches atomic.Int64 // leases asked for
	local   atomic.Int64 // requests decided on local counts: Postgres slow or away
	lastLog atomic.Int64 // unix seconds of the last failure logged
}

// New makes a Limiter; call Run in the background and Close at shutdown.
func New(cfg Config) *Limiter {
	if cfg.Budget <= 0 {
		cfg.Budget = 250 * time.Millisecond
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 5 * time.Second
	}
	if cfg.LeaseDivisor <= 0 {
		cfg.LeaseDivisor = 8
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = time.Second
	}
	if cfg.IdleReturn <= 0 {
		cfg.IdleReturn = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Limiter{cfg: cfg, buckets: map[bucketKey]*bucket{}}
}

// now is the time that picks windows: wall, unless a test fixed the clock.
func (l *Limiter) now(wall time.Time) time.Time {
	if l.cfg.Now != nil {
		return l.cfg.Now()
	}
	return wall
}

// scope is one set of limits a request counts against.
type scope struct {
	name    string // team, user, key
	subject string
	limits  tenants.Limits
}

// scopes lists the scopes of a request by user (and keyID, when a key made
// it) to team, into buf.
func (l *Limiter) scopes(team *tenants.Snapshot, user, keyID string, buf []scope) []scope {
	q := team.Quotas
	if q.Empty() && (l.cfg.UserTPM == 0 || team.Team.Slug != l.cfg.DefaultTeam) {
		return buf
	}
	if q != nil && q.Team.Any() {
		buf = append(buf, scope{name: "team", limits: q.Team})
	}
	ul, ok := q.User(user)
	if l.cfg.UserTPM > 0 && ul.TPM == nil && team.Team.Slug == l.cfg.DefaultTeam {
		tpm := l.cfg.UserTPM
		ul.TPM, ok = &tpm, true
	}
	if ok && ul.Any() {
		buf = append(buf, scope{name: "user", subject: user, limits: ul})
	}
	if kl, ok := q.Key(keyID); ok && kl.Any() {
		buf = append(buf, scope{name: "key", subject: keyID, limits: kl})
	}
	return buf
}

// bucketKey finds a bucket without building its name on every request.
type bucketKey struct {
	teamID, scope, subject string
	kind                   *kind
}

// bucket finds or makes the bucket of team's scope s and kind k.
func (l *Limiter) bucket(teamID string, s scope, k *kind) *bucket {
	key := bucketKey{teamID, s.name, s.subject, k}
	l.mu.RLock()
	b, ok := l.buckets[key]
	l.mu.RUnlock()
	if ok {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	b = &bucket{l: l, name: teamID + "|" + s.name + "|" + s.subject + "|" + k.name, kind: k,
		field: s.name + "." + k.name, policy: s.name + "-" + k.name}
	l.buckets[key] = b
	return b
}

// Admit decides whether a request of user (through API key keyID, or "")
// to team may go to the engine. It returns nil to admit, a *Refusal when a
// limit is reached, or ctx's error. It spends a request from every request
// limit that applies and checks that every token limit has tokens left;
// for a metered request (one the proxy will Measure: a chat, completion or
// embedding) it reserves the tokens the request is expected to use.
func (l *Limiter) Admit(ctx context.Context, team *tenants.Snapshot, user, keyID string, metered bool) error {
	var buf [3]scope
	scopes := l.scopes(team, user, keyID, buf[:0])
	if len(scopes) == 0 {
		return nil
	}
	wall := time.Now()
	now := l.now(wall)
	type taken struct {
		b    *bucket
		cost int64
	}
	var spent [12]taken
	n := 0
	refund := func() {
		for _, t := range spent[:n] {
			t.b.unspend(t.cost)
		}
	}
	for _, s := range scopes {
		for _, k := range []*kind{kindTPM, kindDay, kindMon, kindRPM} {
			limit := limitOf(s.limits, k)
			if limit == nil {
				continue
			}
			b := l.bucket(team.Team.ID, s, k)
			cost, ok, err := b.admit(ctx, now, wall, *limit, metered)
			if err != nil {
				refund()
				return err
			}
			if !ok {
				refund()
				return b.refusal(now)
			}
			spent[n] = taken{b, cost}
			n++
		}
	}
	return nil
}

// Measure charges the tokens of one exchange to every token limit of its
// team, user and key. It never waits for Postgres.
func (l *Limiter) Measure(u attach.Usage) {
	// An exchange that used no tokens (an engine error) still settles the
	// reservation its admission made.
	n := max(int64(u.Tokens()), 0)
	if l.cfg.Team == nil {
		return
	}
	team, ok := l.cfg.Team(u.TeamID)
	if !ok {
		return
	}
	var buf [3]scope
	wall := time.Now()
	now := l.now(wall)
	for _, s := range l.scopes(team, u.User, u.KeyID, buf[:0]) {
		for _, k := range tokenKinds {
			if limit := limitOf(s.limits, k); limit != nil {
				l.bucket(team.Team.ID, s, k).charge(now, wall, *limit, n)
			}
		}
	}
}

// Stats are counters for tests and metrics.
type Stats struct {
	Leases int64 // lease statements sent to Postgres
	Local  int64 // requests decided on this replica's own counts: Postgres slower than the budget, or away
}

// Stats returns the limiter's counters.
func (l *Limiter) Stats() Stats {
	return Stats{Leases: l.fetches.Load(), Local: l.local.Load()}
}

// failed logs a Postgres failure, at most once a minute.
func (l *Limiter) failed(err error) {
	now := time.Now().Unix()
	last := l.lastLog.Load()
	if now-last < 60 || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.cfg.Logger.Warn("quotas: postgres unavailable, each replica enforces limits on its own counts", "err", err)
}

// Run, until ctx ends, gives back leases of buckets idle for IdleReturn,
// every minute drops token reservations no exchange settled (see age), and
// every few minutes forgets buckets whose window is over and deletes
// old counter rows.
func (l *Limiter) Run(ctx context.Context) {
	idle := time.NewTicker(l.cfg.IdleReturn)
	defer idle.Stop()
	age := time.NewTicker(time.Minute)
	defer age.Stop()
	sweep := time.NewTicker(5 * time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			detached(ctx, l.cfg.FetchTimeout, l.returnIdle)
		case <-age.C:
			for _, b := range l.all() {
				b.age()
			}
		case <-sweep.C:
			detached(ctx, time.Minute, l.sweep)
		}
	}
}

// detached runs do with ctx without its cancellation, bounded by d: work
// the loop has started finishes when the gateway stops meanwhile, instead
// of a statement cut off mid-way (which Postgres logs as a client lost).
func detached(ctx context.Context, d time.Duration, do func(context.Context)) {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	do(c)
}

// returnIdle gives back the leases no request is spending.
func (l *Limiter) returnIdle(ctx context.Context) {
	for _, b := range l.all() {
		if err := b.returnIdle(ctx, l.cfg.IdleReturn); err != nil && ctx.Err() == nil {
			l.failed(err)
		}
	}
}

// all lists the buckets, for work that talks to Postgres without holding
// the map.
func (l *Limiter) all() []*bucket {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*bucket, 0, len(l.buckets))
	for _, b := range l.buckets {
		out = append(out, b)
	}
	return out
}

// sweep forgets buckets whose window is over and deletes old counters.
func (l *Limiter) sweep(ctx context.Context) {
	now := l.now(time.Now())
	l.mu.Lock()
	for k, b := range l.buckets {
		b.mu.Lock()
		idle := b.fetching == nil && now.After(b.end) && now.Sub(b.lastUsed) > time.Minute
		b.mu.Unlock()
		if idle {
			delete(l.buckets, k)
		}
	}
	l.mu.Unlock()
	if err := prune(ctx, l.cfg.DB, now.Add(-time.Hour)); err != nil && ctx.Err() == nil {
		l.failed(err)
	}
}

// Close gives back the leases this replica holds, so the allowance they
// stood for is not lost to the window.
func (l *Limiter) Close(ctx context.Context) {
	for _, b := range l.all() {
		if ctx.Err() != nil {
			return
		}
		if err := b.release(ctx); err != nil {
			l.failed(err)
		}
	}
}

// Refusal says which limit turned a request away and when to come back.
type Refusal struct {
	Field      string        // the limit, as the quotas name it: "user.rpm"
	Policy     string        // its name in the RateLimit headers: "user-rpm"
	Limit      int64         // the limit
	Window     time.Duration // its window
	RetryAfter time.Duration // until the window ends
	Unit       string        // "requests per minute"
}

func (r *Refusal) Error() string {
	return "limit of " + strconv.FormatInt(r.Limit, 10) + " " + r.Unit + " reached"
}

// refusal describes b's limit as reached at now.
func (b *bucket) refusal(now time.Time) *Refusal {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &Refusal{Field: b.field, Policy: b.policy, Limit: b.limit, Window: b.end.Sub(b.start),
		RetryAfter: b.end.Sub(now), Unit: b.kind.unit}
}
