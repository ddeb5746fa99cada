package identity

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	c := newTokenCache(64)
	now := time.Now()
	for i := range 10_000 {
		k := cacheKey{sum: sha256.Sum256([]byte(strconv.Itoa(i))), team: "t", version: 1}
		c.put(k, attach.Principal{Subject: "u"}, now.Add(time.Minute), now)
	}
	if n := c.len(); n > 64 {
		t.Fatalf("cache holds %d entries, bound is 64", n)
	}
	// An entry past its time is a miss and is dropped.
	k := cacheKey{sum: sha256.Sum256([]byte("late")), team: "t", version: 1}
	c.put(k, attach.Principal{Subject: "u"}, now.Add(time.Second), now)
	if _, ok := c.get(k, now); !ok {
		t.Fatal("fresh entry missed")
	}
	if _, ok := c.get(k, now.Add(time.Second)); ok {
		t.Fatal("entry served at its expiry")
	}
	// An entry that is already expired is not stored.
	c.put(k, attach.Principal{}, now, now)
	if _, ok := c.get(k, now.Add(-time.Second)); ok {
		t.Fatal("expired entry stored")
	}
}
