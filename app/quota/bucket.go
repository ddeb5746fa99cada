package quota

import (
	"context"
	"sync"
	"time"
)

// bucket is this replica's share of one limit (a scope and a kind) in the
// current window: the units it leased from Postgres and has not spent yet.
type bucket struct {
	l      *Limiter
	name   string // the counter row's key: team, scope, subject, kind
	kind   *kind
	field  string // the limit as errors name it: "user.rpm"
	policy string // the policy's name in the RateLimit headers: "user-rpm"

	mu    sync.Mutex
	limit int64
	start time.Time
	end   time.Time
	// lease is what this replica may still spend; below zero it is a debt:
	// tokens charged past the lease, settled with the next lease.
	lease     int64
	lastGrant int64
	// exhausted is set when Postgres had nothing left to lease in this
	// window; requests are then refused without asking until recheck (wall
	// clock), when Postgres is asked again: leases given back by idle or
	// stopping replicas are found that way.
	exhausted bool
	recheck   time.Time
	// fetching is open while a lease is being taken; waiters block on it.
	fetching chan struct{}
	// downUntil: Postgres failed, so until then this replica enforces the
	// limit on its own count (local) without asking.
	downUntil time.Time
	local     int64 // units spent by this replica in the window
	lastUsed  time.Time
	// touched is the wall-clock time of the last admission or charge, for
	// giving back a lease this replica has stopped spending.
	touched time.Time
	// Tokens: est is the running average of tokens per exchange, what
	// admission reserves. held[0] are the reservations of requests
	// admitted since the last age(), held[1] those of the period before;
	// Measure settles the oldest first.
	est  int64
	held [2]reservations
}

// reservations are tokens held by admitted requests until Measure settles
// them.
type reservations struct{ n, tokens int64 }

// roll moves the bucket to the window holding now. The previous window's
// lease is left behind: it is counted in that window's row only.
func (b *bucket) roll(now time.Time, limit int64) {
	if now.Before(b.end) && !now.Before(b.start) {
		if limit != b.limit {
			// The team changed the limit: what remains is worth asking again.
			b.limit, b.exhausted = limit, false
		}
		return
	}
	b.start, b.end = b.kind.window(now)
	b.limit = limit
	b.lease, b.lastGrant, b.local = 0, 0, 0
	b.held = [2]reservations{}
	b.exhausted = false
}

// admit decides one request and returns what it spent. A request limit
// spends 1. A token limit spends the tokens a request is expected to use
// (the bucket's running average), reserved until Measure charges the real
// count: so replicas do not admit, on a lease of a few tokens, requests
// that will use hundreds. Only a bucket whose lease is spent waits for
// Postgres, and for at most the limiter's budget.
func (b *bucket) admit(ctx context.Context, now, wall time.Time, limit int64, metered bool) (spent int64, ok bool, err error) {
	b.mu.Lock()
	b.roll(now, limit)
	b.lastUsed, b.touched = now, wall
	cost := int64(1)
	if b.kind.tokens {
		cost = 0
		if metered {
			cost = b.est
		}
	}
	need := max(cost, 1)
	asked := false
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case limit == 0:
			b.mu.Unlock()
			return 0, false, nil
		case b.lease >= need:
			b.spend(cost)
			b.mu.Unlock()
			return cost, true, nil
		case b.exhausted && (asked || wall.Before(b.recheck)):
			b.mu.Unlock()
			return 0, false, nil
		case now.Before(b.downUntil):
			return b.decideLocally(cost, need, limit)
		}
		if b.fetching == nil {
			b.startFetch()
		}
		wait := b.fetching
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(b.l.cfg.Budget)
		}
		select {
		case <-wait:
			asked = true // a lease came back: this request asks no more
			b.mu.Lock()
		case <-timer.C:
			// Postgres is slow: this request is decided on the replica's
			// own count, and the lease, when it comes, still counts.
			b.mu.Lock()
			return b.decideLocally(cost, need, limit)
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// decideLocally admits on this replica's own count in the window, when
// Postgres cannot be asked; with b.mu held, which it releases.
func (b *bucket) decideLocally(cost, need, limit int64) (int64, bool, error) {
	defer b.mu.Unlock()
	b.l.local.Add(1)
	if b.local+need > limit {
		return 0, false, nil
	}
	b.spend(cost)
	return cost, true, nil
}

// spend takes cost from the lease; with b.mu held. For tokens, cost is a
// reservation that Measure settles.
func (b *bucket) spend(cost int64) {
	b.lease -= cost
	b.local += cost
	if b.kind.tokens && cost > 0 {
		b.held[0].n++
		b.held[0].tokens += cost
	}
	b.prefetch()
}

// unspend gives back what admit spent, for a request another limit
// refused.
func (b *bucket) unspend(cost int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lease += cost
	b.local -= cost
	if b.kind.tokens && cost > 0 && b.held[0].n > 0 {
		b.held[0].n--
		b.held[0].tokens -= cost
	}
}

// charge spends n tokens an exchange used (Measure), less what its
// admission reserved: the lease may go below zero, and the debt is settled
// with the next lease, taken in the background.
func (b *bucket) charge(now, wall time.Time, limit, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now, limit)
	b.lastUsed, b.touched = now, wall
	// The running average moves a quarter of the way to each count.
	if n > 0 {
		b.est += (n - b.est) / 4
		b.est = max(b.est, 1)
	}
	for i := len(b.held) - 1; i >= 0; i-- {
		if h := &b.held[i]; h.n > 0 {
			r := h.tokens / h.n
			h.tokens -= r
			h.n--
			n -= r
			break
		}
	}
	b.lease -= n
	b.local += n
	b.prefetch()
}

// prefetch takes the next lease in the background before this one is
// spent, so requests rarely wait for Postgres; with b.mu held.
func (b *bucket) prefetch() {
	if b.fetching != nil || b.lastUsed.Before(b.downUntil) {
		return
	}
	if b.lease < 0 || (!b.exhausted && b.lease <= b.lastGrant/4) {
		b.startFetch()
	}
}

// startFetch takes a lease in its own goroutine, so a waiter that gives up
// never loses a lease Postgres granted; with b.mu held.
func (b *bucket) startFetch() {
	b.fetching = make(chan struct{})
	debt := max(-b.lease, 0)
	b.lease += debt
	start, end, limit := b.start, b.end, b.limit
	div, leaseCap := b.l.cfg.LeaseDivisor, max(limit/b.kind.capDiv, 1)
	b.l.fetches.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.l.cfg.FetchTimeout)
		granted, _, err := lease(ctx, b.l.cfg.DB, b.name, start, end, limit, debt, div, leaseCap)
		cancel()
		b.mu.Lock()
		defer b.mu.Unlock()
		done := b.fetching
		b.fetching = nil
		defer close(done)
		if !b.start.Equal(start) {
			return // the window rolled meanwhile; the grant is the old window's
		}
		if err != nil {
			b.lease -= debt
			b.downUntil = b.l.now(time.Now()).Add(b.l.cfg.Retry)
			b.l.failed(err)
			return
		}
		b.lease += granted
		b.lastGrant = granted
		b.exhausted = false
		if granted == 0 {
			b.exhausted = true
			b.recheck = time.Now().Add(b.l.cfg.Recheck)
		}
		if b.lease < 0 {
			// Charged more while this lease was on its way: settle it too.
			b.startFetch()
		}
	}()
}

// age drops the reservations of the period before last, whose exchanges
// were never measured (a request that failed before the engine, or one the
// proxy does not meter), giving their tokens back to the lease; an
// exchange measured later than that is charged in full. So a reservation
// lasts between one and two periods, never a whole day or month.
func (b *bucket) age() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lease += b.held[1].tokens
	b.held[1], b.held[0] = b.held[0], reservations{}
}

// returnIdle gives back the unspent lease of a bucket no request has
// touched for idle, so that a replica the load balancer stopped sending a
// caller to does not keep part of the window's allowance from the others.
func (b *bucket) returnIdle(ctx context.Context, idle time.Duration) error {
	b.mu.Lock()
	if b.fetching != nil || b.lease <= 0 || time.Since(b.touched) < idle || b.start.IsZero() {
		b.mu.Unlock()
		return nil
	}
	n, start := b.lease, b.start
	b.lease, b.lastGrant = 0, 0
	b.mu.Unlock()
	return giveBack(ctx, b.l.cfg.DB, b.name, start, n)
}

// release gives back what this replica holds in the current window: the
// unspent lease, or the debt not yet charged.
func (b *bucket) release(ctx context.Context) error {
	b.mu.Lock()
	n, start := b.lease, b.start
	b.lease = 0
	b.mu.Unlock()
	if n == 0 || start.IsZero() {
		return nil
	}
	return giveBack(ctx, b.l.cfg.DB, b.name, start, n)
}
