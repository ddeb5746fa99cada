package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// maxCallerKeys bounds the distinct identities counted between two
// flushes; calls by any more are counted in their team's "other" row, so a
// flood of made-up subjects cannot grow the gateway's memory.
const maxCallerKeys = 10_000

// callerStore is the part of the store the caller counter needs.
type callerStore interface {
	AddCallerCounts(ctx context.Context, batch []tenants.CallerCount) error
	PruneCallerCounts(ctx context.Context, before time.Time) (int64, error)
}

type callerKey struct {
	team                           string
	hour                           int64 // Unix seconds of the hour's start
	method, issuer, subject, actor string
}

type callerTally struct {
	count int64
	last  time.Time
}

// callerCounts counts successful authentications per team, hour and
// identity in memory and adds the counts to Postgres every interval (and
// once more at shutdown), so the console can show who called without a
// write per request. Old hours are pruned by the same loop, once an hour.
type callerCounts struct {
	store    callerStore
	log      *slog.Logger
	interval time.Duration
	limit    int

	mu     sync.Mutex
	counts map[callerKey]*callerTally
	// other holds, per team and hour, the calls of identities beyond limit.
	other map[callerKey]*callerTally

	lastPrune time.Time // touched by the flush loop only
}

func newCallerCounts(store callerStore, log *slog.Logger, interval time.Duration) *callerCounts {
	return &callerCounts{
		store: store, log: log, interval: interval, limit: maxCallerKeys,
		counts: map[callerKey]*callerTally{}, other: map[callerKey]*callerTally{},
	}
}

// record counts one successful authentication of p at t.
func (cc *callerCounts) record(p attach.Principal, t time.Time) {
	k := callerKey{
		team: p.TeamID, hour: t.Unix() - t.Unix()%3600,
		method: p.Method, issuer: p.Issuer, subject: p.Subject, actor: p.Actor,
	}
	cc.mu.Lock()
	cc.add(k, 1, t)
	cc.mu.Unlock()
}

// add adds n calls to k, or to k's team's "other" row when k is new and
// the bound is reached. cc.mu is held.
func (cc *callerCounts) add(k callerKey, n int64, last time.Time) {
	tally, ok := cc.counts[k]
	if !ok {
		if len(cc.counts) >= cc.limit {
			k = callerKey{team: k.team, hour: k.hour, method: tenants.MethodOther}
			if tally, ok = cc.other[k]; !ok {
				tally = &callerTally{}
				cc.other[k] = tally
			}
		} else {
			tally = &callerTally{}
			cc.counts[k] = tally
		}
	}
	tally.count += n
	if last.After(tally.last) {
		tally.last = last
	}
}

// run flushes every interval until ctx ends, then flushes once more.
func (cc *callerCounts) run(ctx context.Context) {
	tick := time.NewTicker(cc.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			cc.flush(ctx)
			cc.prune(ctx, time.Now())
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cc.flush(final)
			cancel()
			return
		}
	}
}

// flush adds what was counted since the last flush to Postgres. When that
// fails the counts are kept for the next flush: counts are informative, so
// a failure here never fails a request.
func (cc *callerCounts) flush(ctx context.Context) {
	cc.mu.Lock()
	counts, other := cc.counts, cc.other
	if len(counts) == 0 && len(other) == 0 {
		cc.mu.Unlock()
		return
	}
	cc.counts, cc.other = map[callerKey]*callerTally{}, map[callerKey]*callerTally{}
	cc.mu.Unlock()

	batch := make([]tenants.CallerCount, 0, len(counts)+len(other))
	for _, m := range []map[callerKey]*callerTally{counts, other} {
		for k, v := range m {
			batch = append(batch, tenants.CallerCount{
				TeamID: k.team, Hour: time.Unix(k.hour, 0),
				Method: k.method, Issuer: k.issuer, Subject: k.subject, Actor: k.actor,
				Count: v.count, LastSeen: v.last,
			})
		}
	}
	if err := cc.store.AddCallerCounts(ctx, batch); err != nil {
		cc.log.Warn("record caller counts", "identities", len(batch), "err", err)
		cc.mu.Lock()
		for k, v := range counts {
			cc.add(k, v.count, v.last)
		}
		for k, v := range other {
			if t, ok := cc.other[k]; ok {
				t.count += v.count
				t.last = later(t.last, v.last)
			} else {
				cc.other[k] = v
			}
		}
		cc.mu.Unlock()
	}
}

// prune deletes counts older than tenants.CallerRetention, at most once an
// hour: every replica may do it, and doing it twice costs one indexed
// delete that finds nothing.
func (cc *callerCounts) prune(ctx context.Context, now time.Time) {
	if now.Sub(cc.lastPrune) < time.Hour {
		return
	}
	cc.lastPrune = now
	if _, err := cc.store.PruneCallerCounts(ctx, now.Add(-tenants.CallerRetention)); err != nil {
		cc.log.Warn("prune caller counts", "err", err)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
