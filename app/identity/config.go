package identity

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config tunes a Verifier. The zero value is ready to use.
type Config struct {
	HTTPClient    *http.Client  // for discovery and JWKS; default: 10 s timeout, at most 3 redirects
	Leeway        time.Duration // clock skew allowed on exp, nbf and iat; default 60 s
	MinRefresh    time.Duration // least time between two key fetches of one issuer; default 30 s
	JWKSMaxAge    time.Duration // keys this old are refetched in the background; default 10 min
	CacheSize     int           // verified-token cache entries; default 100 000, negative disables
	MaxTokenBytes int           // longer tokens are refused unparsed; default 16 KiB
	// PublicURL is the gateway's public base URL (no trailing slash). A
	// DID-JWT's aud must name the team's URL under it, PublicURL+"/t/"+slug,
	// or PublicURL itself for DefaultTeam; empty: only the team's configured
	// DID audiences are accepted.
	PublicURL   string
	DefaultTeam string
	// DIDFetchTimeout bounds one did:web document fetch; default 5 s.
	DIDFetchTimeout time.Duration
	// DIDDocumentTTL is how long a did:web document is used before it is
	// fetched again; default 5 min.
	DIDDocumentTTL time.Duration
	// DIDCacheSize bounds how many did:web documents are kept; default 1000.
	DIDCacheSize int
	// ExchangeTimeout bounds one token exchange at a team's exchange
	// issuer; default 5 s.
	ExchangeTimeout time.Duration
	// MaxExchanges bounds the exchanges in flight at once, so that a flood
	// of made-up tokens cannot turn into a flood of requests to a team's
	// IdP; more wait for a turn. Default 32.
	MaxExchanges int
	// Local, when set, also accepts the gateway's own console tokens.
	Local *LocalIssuer
	// Delegation, when set, also accepts the gateway's delegation tokens.
	Delegation *Delegator
	// Exchange, when set, also accepts the tokens the gateway issued at its
	// token endpoint (RFC 8693), each only at its audience.
	Exchange *Exchanger
	Now      func() time.Time
	Logger   *slog.Logger
}

// cacheLifetime caps how long a verified token is remembered, so a key the
// issuer withdraws stops being honoured soon even for cached tokens.
const cacheLifetime = 5 * time.Minute

func (c Config) withDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout: 10 * time.Second,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				return nil
			},
		}
	}
	if c.Leeway <= 0 {
		c.Leeway = 60 * time.Second
	}
	if c.MinRefresh <= 0 {
		c.MinRefresh = 30 * time.Second
	}
	if c.JWKSMaxAge <= 0 {
		c.JWKSMaxAge = 10 * time.Minute
	}
	if c.CacheSize == 0 {
		c.CacheSize = 100_000
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = 16 << 10
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.DIDFetchTimeout <= 0 {
		c.DIDFetchTimeout = 5 * time.Second
	}
	if c.DIDDocumentTTL <= 0 {
		c.DIDDocumentTTL = 5 * time.Minute
	}
	if c.DIDCacheSize <= 0 {
		c.DIDCacheSize = 1000
	}
	if c.ExchangeTimeout <= 0 {
		c.ExchangeTimeout = 5 * time.Second
	}
	if c.MaxExchanges <= 0 {
		c.MaxExchanges = 32
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
