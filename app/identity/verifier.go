package identity

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"

	"golang.org/x/sync/singleflight"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Verifier checks tokens for any team. One Verifier serves the whole process:
// issuer keys are cached per issuer URL and shared by every team that trusts
// that issuer. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	keys   *keySource
	tokens *tokenCache // nil when disabled
	web    *webSource  // did:web documents
	// Exchange at a team's exchange issuer (upstream_exchange.go).
	endpoints      *endpointSource
	exchangeClient *http.Client
	exchanges      singleflight.Group
	exchangeSlots  chan struct{} // one per exchange in flight
}

// NewVerifier makes a Verifier; see Config for the defaults.
func NewVerifier(cfg Config) *Verifier {
	cfg = cfg.withDefaults()
	v := &Verifier{
		cfg:  cfg,
		keys: newKeySource(cfg),
		web:  newWebSource(cfg),
	}
	v.endpoints = newEndpointSource(v.keys, cfg.JWKSMaxAge)
	v.exchangeClient = noRedirects(cfg.HTTPClient)
	v.exchangeSlots = make(chan struct{}, cfg.MaxExchanges)
	if cfg.CacheSize > 0 {
		v.tokens = newTokenCache(cfg.CacheSize)
	}
	return v
}

// Verify checks token against the team's trusted issuers and gateway keys.
// Every failure is an *attach.Error of attach.CodeInvalidToken; see AsError.
func (v *Verifier) Verify(ctx context.Context, team *tenants.Snapshot, token string) (attach.Principal, error) {
	return v.verify(ctx, team, token, "")
}

// VerifyResource checks a token presented to one resource of the team that
// has its own URL (an MCP server behind the gateway): tokens from the team's
// issuers must name resource in their aud (RFC 8707) instead of the issuer's
// configured audience, so a token minted for the team's engines, or for
// another server, is not accepted here. Gateway API keys are checked as by
// Verify.
func (v *Verifier) VerifyResource(ctx context.Context, team *tenants.Snapshot, token, resource string) (attach.Principal, error) {
	if resource == "" {
		return attach.Principal{}, fail(ReasonWrongAudience, "no resource to verify the token for")
	}
	return v.verify(ctx, team, token, resource)
}

func (v *Verifier) verify(ctx context.Context, team *tenants.Snapshot, token, resource string) (attach.Principal, error) {
	if token == "" {
		return attach.Principal{}, fail(ReasonMissingToken, "no bearer token")
	}
	if len(token) > v.cfg.MaxTokenBytes {
		return attach.Principal{}, fail(ReasonTokenTooLarge, "token is larger than %d bytes", v.cfg.MaxTokenBytes)
	}
	if team == nil {
		return attach.Principal{}, fail(ReasonUnknownIssuer, "no team to verify the token for")
	}
	now := v.cfg.Now()
	// Gateway keys are checked on every call, never cached, so a revocation
	// bites on the very next request; the lookup costs one hash.
	if attach.LooksLikeAPIKey(token) {
		return verifyAPIKey(team, token, now)
	}

	var key cacheKey
	if v.tokens != nil {
		key = cacheKey{sum: sha256.Sum256([]byte(token)), team: team.Team.ID, version: team.Version, resource: resource}
		if p, ok := v.tokens.get(key, now); ok {
			return p, nil
		}
	}
	p, err := v.verifyJWT(ctx, team, token, resource, now)
	if err != nil && resource == "" && exchangeable(token, err) {
		if is, ok := team.ExchangeIssuer(); ok {
			p, err = v.exchangeAtIssuer(ctx, team, is, token, now)
		}
	}
	if err != nil {
		return attach.Principal{}, err
	}
	if v.tokens != nil {
		until := now.Add(cacheLifetime)
		if p.Method == attach.MethodIdPExchange {
			// Each exchange is a round trip to the issuer: its answer is
			// kept for as long as the token it returned lives.
			until = p.ExpiresAt
		}
		if p.ExpiresAt.Before(until) {
			until = p.ExpiresAt
		}
		v.tokens.put(key, p, until, now)
	}
	return p, nil
}

// Check fetches the discovery document and key set of an issuer now,
// bypassing the refetch limit, and reports how many usable signing keys it
// publishes. The console calls it when a team adds an issuer; the keys it
// fetched are kept for Verify.
func (v *Verifier) Check(ctx context.Context, issuerURL string) (keys int, err error) {
	u, perr := url.Parse(issuerURL)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, fail(ReasonIssuerUnavailable, "issuer URL must be an absolute http or https URL")
	}
	ks, ferr := v.keys.refresh(ctx, v.keys.entry(issuerURL), true)
	if ferr != nil {
		return 0, &attach.Error{
			Code:    attach.CodeInvalidToken,
			Reason:  ReasonIssuerUnavailable,
			Message: "issuer " + redact(issuerURL) + " could not be checked",
			Err:     ferr,
		}
	}
	return len(ks), nil
}
