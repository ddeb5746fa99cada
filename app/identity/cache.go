package identity

import (
	"slices"
	"sync"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

// cacheShards spreads the verified-token cache over several locks so that
// concurrent requests rarely wait for each other.
const cacheShards = 32

// cacheKey names one verification: the token (by its SHA-256, so the cache
// never holds bearer tokens), the team, and the version of the team's
// configuration it was verified under, and the resource it was verified
// for ("" for the team's own routes). A changed configuration (an issuer
// removed, an audience changed) therefore misses the cache.
type cacheKey struct {
	sum      [32]byte
	team     string
	version  uint64
	resource string
}

type cacheEntry struct {
	principal attach.Principal
	until     time.Time
}

// tokenCache remembers verified tokens until min(exp, now+5m). It is bounded:
// a full shard first drops expired entries, then arbitrary ones.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[cacheKey]cacheEntry
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cacheEntry)
	}
	return c
}

func (c *tokenCache) shard(k cacheKey) *cacheShard { return &c.shards[k.sum[0]%cacheShards] }

func (c *tokenCache) get(k cacheKey, now time.Time) (attach.Principal, bool) {
	s := c.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	if ok && !now.Before(e.until) {
		delete(s.m, k)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return attach.Principal{}, false
	}
	p := e.principal
	p.Scopes = slices.Clone(p.Scopes) // callers may not share our copy
	return p, true
}

func (c *tokenCache) put(k cacheKey, p attach.Principal, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	p.Scopes = slices.Clone(p.Scopes) // the caller keeps its own copy
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.m[k]; !exists && len(s.m) >= c.perShard {
		s.evict(now)
	}
	s.m[k] = cacheEntry{principal: p, until: until}
}

// evict makes room for one entry. Map iteration order is random, so the
// victims are a fair sample; looking at a few keeps it O(1).
func (s *cacheShard) evict(now time.Time) {
	const sample = 8
	var victim *cacheKey
	seen := 0
	for k, e := range s.m {
		if !now.Before(e.until) {
			delete(s.m, k)
			return
		}
		if victim == nil {
			victim = &k
		}
		if seen++; seen == sample {
			break
		}
	}
	if victim != nil {
		delete(s.m, *victim)
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
