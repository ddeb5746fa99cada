package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// fetchTimeout bounds one discovery + JWKS round, whoever waits for it.
const fetchTimeout = 15 * time.Second

// noKeysRetry bounds how long an issuer whose keys were never fetched waits
// for the next attempt: its tokens all fail meanwhile, so an IdP that was
// down for a moment should not lock a team out for a whole MinRefresh.
const noKeysRetry = 5 * time.Second

// keySource holds the signing keys of every issuer the process has seen,
// keyed by issuer URL, and fetches them when they are missing, old, or lack a
// kid a token names. It never fetches one issuer's keys more often than once
// per MinRefresh (Check excepted; and every noKeysRetry while it has no keys
// at all), so a flood of tokens with made-up kids, or an issuer that is down,
// costs the issuer at most one request per interval.
type keySource struct {
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration
	log        *slog.Logger

	flights singleflight.Group

	mu      sync.Mutex
	issuers map[string]*issuerEntry
}

// issuerEntry is what is known about one issuer's keys.
type issuerEntry struct {
	url string

	mu        sync.Mutex
	keys      []jose.JSONWebKey // public signing keys only
	jwksURI   string            // from discovery; empty until discovered
	fetchedAt time.Time         // last successful fetch; zero before the first
	attemptAt time.Time         // last fetch attempt, successful or not
	lastErr   error             // of the last attempt
}

func newKeySource(cfg Config) *keySource {
	return &keySource{
		client:     cfg.HTTPClient,
		now:        cfg.Now,
		minRefresh: cfg.MinRefresh,
		maxAge:     cfg.JWKSMaxAge,
		log:        cfg.Logger,
		issuers:    make(map[string]*issuerEntry),
	}
}

func (s *keySource) entry(issuer string) *issuerEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.issuers[issuer]
	if !ok {
		e = &issuerEntry{url: issuer}
		s.issuers[issuer] = e
	}
	return e
}

// keysFor returns the issuer's keys, fetching them on first use. Keys older
// than maxAge are still returned while a background fetch replaces them.
func (s *keySource) keysFor(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	e := s.entry(issuer)
	e.mu.Lock()
	keys, fetchedAt, attemptAt := e.keys, e.fetchedAt, e.attemptAt
	e.mu.Unlock()
	if fetchedAt.IsZero() {
		return s.refresh(ctx, e, false)
	}
	now := s.now()
	if now.Sub(fetchedAt) >= s.maxAge && now.Sub(attemptAt) >= s.minRefresh {
		go func() {
			// The request that noticed must not wait, nor cancel the fetch.
			_, _ = s.refresh(context.WithoutCancel(ctx), e, false)
		}()
	}
	return keys, nil
}

// refreshForUnknownKey refetches the keys because a token names a key that is
// not among them, unless the issuer was asked less than minRefresh ago.
func (s *keySource) refreshForUnknownKey(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	return s.refresh(ctx, s.entry(issuer), false)
}

// refresh fetches the issuer's keys once for all concurrent callers. Unless
// force is set, it returns the keys it has without asking the issuer when the
// last attempt is younger than minRefresh. On failure it returns the keys it
// had (possibly none) with the error.
func (s *keySource) refresh(ctx context.Context, e *issuerEntry, force bool) ([]jose.JSONWebKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	flight := e.url
	if force {
		flight = "force\x00" + e.url
	}
	ch := s.flights.DoChan(flight, func() (any, error) {
		e.mu.Lock()
		now := s.now()
		// Checked inside the flight, so callers that arrive just after a
		// fetch finished do not start another one.
		wait := s.minRefresh
		if len(e.keys) == 0 {
			wait = min(wait, noKeysRetry)
		}
		if !force && !e.attemptAt.IsZero() && now.Sub(e.attemptAt) < wait {
			keys, err := e.keys, e.lastErr
			e.mu.Unlock()
			return keys, err
		}
		e.attemptAt = now
		jwksURI := e.jwksURI
		e.mu.Unlock()

		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		keys, uri, err := s.download(fctx, e.url, jwksURI)

		e.mu.Lock()
		defer e.mu.Unlock()
		e.lastErr = err
		if err != nil {
			s.log.Warn("fetching issuer keys failed", "issuer", redact(e.url), "error", err, "keeping_keys", len(e.keys))
			return e.keys, err
		}
		e.keys, e.jwksURI, e.fetchedAt = keys, uri, s.now()
		s.log.Debug("issuer keys fetched", "issuer", redact(e.url), "keys", len(keys))
		return keys, nil
	})
	select {
	case r := <-ch:
		keys, _ := r.Val.([]jose.JSONWebKey)
		return keys, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// matchingKeys are the keys that may have signed a token with this kid and
// alg: the kid must match when the token names one; the key type, curve and
// any alg the key declares must fit the token's algorithm.
func matchingKeys(keys []jose.JSONWebKey, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if keyFits(k, alg) {
			out = append(out, k)
		}
	}
	return out
}

func keyFits(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return (alg == "ES256" && pub.Curve == elliptic.P256()) || (alg == "ES384" && pub.Curve == elliptic.P384())
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
