package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/sync/singleflight"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Token exchange at the team's exchange issuer (RFC 8693). A bearer token
// the team does not otherwise accept (an opaque token, or a JWT of an
// issuer it does not trust) is posted to the token endpoint of the issuer
// the team marked for it, with the gateway's client credentials; the token
// the issuer returns is then checked like any token of that issuer, and
// names the caller. A team without an exchange issuer never calls out.

// Names from RFC 8693.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// maxExchangeResponse bounds the issuer's answer: a token response is a
// few KiB.
const maxExchangeResponse = 64 << 10

// exchangeable says whether a token refused by the team's own checks may
// be taken to the exchange issuer: a JWT whose issuer the team does not
// trust, or anything that is not a JWT at all. A JWT of a trusted issuer
// that failed (expired, forged) is never exchanged: its issuer has spoken.
func exchangeable(token string, refusal error) bool {
	if e := AsError(refusal); e != nil && e.Reason == ReasonUnknownIssuer {
		return true
	}
	return !isJWS(token)
}

// isJWS says whether token is shaped as a compact JWS: three parts, the
// first a base64url JSON object.
func isJWS(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h map[string]json.RawMessage
	return json.Unmarshal(b, &h) == nil
}

// unverifiedExp is the exp claim of a JWT, unchecked.
func unverifiedExp(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	cl, err := parseClaims(payload)
	if err != nil || cl.exp == nil {
		return time.Time{}, false
	}
	return *cl.exp, true
}

// teamURL is the team's gateway URL, the audience the gateway asks the
// exchange issuer for; without a public URL, the issuer's audience.
func (v *Verifier) teamURL(team *tenants.Snapshot, is attach.Issuer) string {
	if u := v.teamGatewayURL(team); u != "" {
		return u
	}
	return is.Audience
}

// exchangeAtIssuer exchanges token at the team's exchange issuer is. One
// exchange runs at a time per token and team configuration, whoever asks.
func (v *Verifier) exchangeAtIssuer(ctx context.Context, team *tenants.Snapshot, is attach.Issuer, token string, now time.Time) (attach.Principal, error) {
	sum := sha256.Sum256([]byte(token))
	flight := hex.EncodeToString(sum[:]) + "\x00" + team.Team.ID + "\x00" + fmt.Sprint(team.Version)
	ch := v.exchanges.DoChan(flight, func() (any, error) {
		// Not the first caller's cancellation: the others wait on it too.
		xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.ExchangeTimeout)
		defer cancel()
		select {
		case v.exchangeSlots <- struct{}{}:
			defer func() { <-v.exchangeSlots }()
		case <-xctx.Done():
			return attach.Principal{}, v.exchangeOutage(is.URL, errors.New("too many token exchanges in flight"))
		}
		issued, err := v.postExchange(xctx, team, is, token)
		if err != nil {
			return attach.Principal{}, err
		}
		p, err := v.verifyExchanged(xctx, team, is, issued, now)
		if err != nil {
			return attach.Principal{}, err
		}
		// The caller's credential ends when the token it gave does, if
		// that says so earlier: its unverified exp can only shorten.
		if exp, ok := unverifiedExp(token); ok && exp.Before(p.ExpiresAt) {
			p.ExpiresAt = exp
		}
		return p, nil
	})
	select {
	case r := <-ch:
		p, _ := r.Val.(attach.Principal)
		return p, r.Err
	case <-ctx.Done():
		return attach.Principal{}, exchangeUnavailable(is.URL, ctx.Err())
	}
}

// postExchange asks the issuer's token endpoint for a token of its own in
// exchange for token and returns it. Errors never carry the token.
func (v *Verifier) postExchange(ctx context.Context, team *tenants.Snapshot, is attach.Issuer, token string) (string, error) {
	endpoint, err := v.endpoints.tokenEndpoint(ctx, is.URL, false)
	if err != nil {
		return "", err
	}
	subjectType := tokenTypeAccessToken
	if isJWS(token) {
		subjectType = tokenTypeJWT
	}
	aud := v.teamURL(team, is)
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {token},
		"subject_token_type":   {subjectType},
		"requested_token_type": {tokenTypeAccessToken},
		"audience":             {aud},
		"resource":             {aud},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", exchangeUnavailable(is.URL, fmt.Errorf("bad token endpoint %s", redact(endpoint)))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// client_secret_basic: both parts form-encoded first (RFC 6749 §2.3.1).
	req.SetBasicAuth(url.QueryEscape(is.Exchange.ClientID), url.QueryEscape(is.Exchange.ClientSecret))
	resp, err := v.exchangeClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return "", v.exchangeOutage(is.URL, fmt.Errorf("POST %s: %w", redact(endpoint), err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxExchangeResponse+1))
	if err != nil {
		return "", v.exchangeOutage(is.URL, fmt.Errorf("POST %s: read answer: %w", redact(endpoint), err))
	}
	if len(body) > maxExchangeResponse {
		return "", v.exchangeOutage(is.URL, fmt.Errorf("POST %s: answer larger than %d bytes", redact(endpoint), maxExchangeResponse))
	}
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	parsed := json.Unmarshal(body, &out) == nil
	switch {
	case resp.StatusCode == http.StatusOK && parsed && out.AccessToken != "":
		return out.AccessToken, nil
	case (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized) && parsed && out.Error != "":
		code := oauthErrorCode(out.Error)
		if code != "invalid_grant" {
			// Not about the caller's token: the gateway's client is
			// misconfigured at the issuer, which the operator must hear.
			v.cfg.Logger.Warn("exchange issuer refused the gateway's request", "issuer", redact(is.URL), "error", code)
		}
		return "", fail(ReasonExchangeRefused, "issuer %s refused to exchange the token (%s)", quote(redact(is.URL)), code)
	}
	return "", v.exchangeOutage(is.URL, fmt.Errorf("POST %s: status %d", redact(endpoint), resp.StatusCode))
}

// oauthErrorCode is the issuer's error code as it may be shown: an RFC 6749
// code is a short lowercase word; anything else, which could echo what
// was sent, is not repeated.
func oauthErrorCode(s string) string {
	if s == "" || len(s) > 40 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "an error"
	}
	return s
}

func (v *Verifier) exchangeOutage(issuer string, cause error) *attach.Error {
	v.cfg.Logger.Warn("token exchange failed", "issuer", redact(issuer), "error", cause)
	return exchangeUnavailable(issuer, cause)
}

// exchangeUnavailable is the refusal when the exchange issuer could not be
// asked, answered 401 like an issuer whose keys cannot be fetched.
func exchangeUnavailable(issuer string, cause error) *attach.Error {
	return &attach.Error{
		Code:    attach.CodeInvalidToken,
		Reason:  ReasonExchangeUnavailable,
		Message: "the token could not be exchanged: issuer " + quote(redact(issuer)) + " did not answer",
		Err:     cause,
	}
}

// verifyExchanged checks the token the exchange issuer returned as a token
// of that issuer: its signature against the issuer's keys, its times, and
// an audience of the team's gateway URL or the issuer's audience.
func (v *Verifier) verifyExchanged(ctx context.Context, team *tenants.Snapshot, is attach.Issuer, token string, now time.Time) (attach.Principal, error) {
	p, err := v.checkExchanged(ctx, team, is, token, now)
	if e := AsError(err); err != nil {
		return attach.Principal{}, &attach.Error{Code: e.Code, Reason: e.Reason, Err: e.Err,
			Message: "the token issuer " + quote(redact(is.URL)) + " returned in exchange was refused: " + e.Message}
	}
	return p, nil
}

func (v *Verifier) checkExchanged(ctx context.Context, team *tenants.Snapshot, is attach.Issuer, token string, now time.Time) (attach.Principal, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] == "" {
		return attach.Principal{}, fail(ReasonMalformed, "it is not a signed JWT")
	}
	hdr, err := parseHeader(parts[0])
	if err != nil {
		return attach.Principal{}, err
	}
	if len(is.Algorithms) > 0 && !slices.Contains(is.Algorithms, hdr.Alg) {
		return attach.Principal{}, fail(ReasonAlgNotAllowed, "the team does not accept %s tokens from this issuer", hdr.Alg)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return attach.Principal{}, fail(ReasonMalformed, "its payload is not base64url")
	}
	cl, err := parseClaims(payload)
	if err != nil {
		return attach.Principal{}, err
	}
	if cl.iss != is.URL {
		return attach.Principal{}, fail(ReasonUnknownIssuer, "its iss is %s", quote(cl.iss))
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(hdr.Alg)})
	if err != nil {
		return attach.Principal{}, fail(ReasonMalformed, "it is not a well-formed JWS")
	}
	if err := v.checkSignature(ctx, tok, is.URL, hdr); err != nil {
		return attach.Principal{}, err
	}
	if err := v.checkTimes(cl, now); err != nil {
		return attach.Principal{}, err
	}
	if !slices.Contains(cl.aud, v.teamURL(team, is)) && !slices.Contains(cl.aud, is.Audience) {
		return attach.Principal{}, fail(ReasonWrongAudience, "its audience includes neither %s nor %s", quote(v.teamURL(team, is)), quote(is.Audience))
	}
	subject, err := userOf(cl, is.UserClaim)
	if err != nil {
		return attach.Principal{}, err
	}
	return attach.Principal{
		TeamID:    team.Team.ID,
		TeamSlug:  team.Team.Slug,
		Subject:   subject,
		Issuer:    is.URL,
		Method:    attach.MethodIdPExchange,
		ClientID:  cl.clientID,
		Scopes:    cl.scopes,
		ExpiresAt: *cl.exp,
	}, nil
}

// CheckExchange reads the issuer's discovery document now and checks that
// it names a token endpoint and lists the token-exchange grant in
// grant_types_supported, so a team cannot save an exchange issuer that
// cannot exchange. The refusal's Reason is ReasonExchangeUnsupported or
// ReasonExchangeUnavailable.
func (v *Verifier) CheckExchange(ctx context.Context, issuerURL string) error {
	_, err := v.endpoints.tokenEndpoint(ctx, issuerURL, true)
	return err
}

// endpointSource remembers each exchange issuer's token endpoint, read
// from its discovery document, for as long as its keys are kept; an issuer
// whose document could not be read is asked again after noKeysRetry.
type endpointSource struct {
	keys    *keySource // for its HTTP client and document reader
	ttl     time.Duration
	flights singleflight.Group

	mu sync.Mutex
	m  map[string]endpointEntry
}

type endpointEntry struct {
	endpoint string
	err      error
	at       time.Time
}

func newEndpointSource(keys *keySource, ttl time.Duration) *endpointSource {
	return &endpointSource{keys: keys, ttl: ttl, m: map[string]endpointEntry{}}
}

// tokenEndpoint returns the issuer's token endpoint; force reads the
// discovery document even when one was read lately.
func (s *endpointSource) tokenEndpoint(ctx context.Context, issuer string, force bool) (string, error) {
	now := s.keys.now()
	s.mu.Lock()
	e, ok := s.m[issuer]
	s.mu.Unlock()
	if ok && !force {
		fresh := now.Sub(e.at) < s.ttl
		if e.err != nil {
			fresh = now.Sub(e.at) < noKeysRetry
		}
		if fresh {
			return e.endpoint, e.err
		}
	}
	ch := s.flights.DoChan(issuer, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		endpoint, err := s.discover(fctx, issuer)
		s.mu.Lock()
		s.m[issuer] = endpointEntry{endpoint: endpoint, err: err, at: s.keys.now()}
		s.mu.Unlock()
		return endpoint, err
	})
	select {
	case r := <-ch:
		endpoint, _ := r.Val.(string)
		return endpoint, r.Err
	case <-ctx.Done():
		return "", exchangeUnavailable(issuer, ctx.Err())
	}
}

func (s *endpointSource) discover(ctx context.Context, issuer string) (string, error) {
	var doc struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		Grants        []string `json:"grant_types_supported"`
	}
	endpoint := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if err := s.keys.getJSON(ctx, endpoint, &doc); err != nil {
		s.keys.log.Warn("reading the exchange issuer's discovery document failed", "issuer", redact(issuer), "error", err)
		return "", exchangeUnavailable(issuer, fmt.Errorf("discovery: %w", err))
	}
	if doc.Issuer != issuer {
		return "", fail(ReasonExchangeUnsupported, "the discovery document of %s is for issuer %s", quote(redact(issuer)), quote(redact(doc.Issuer)))
	}
	// Absent, the list means authorization_code and implicit only.
	if !slices.Contains(doc.Grants, grantTokenExchange) {
		return "", fail(ReasonExchangeUnsupported, "issuer %s does not list the token-exchange grant (%s) in grant_types_supported", quote(redact(issuer)), grantTokenExchange)
	}
	u, err := url.Parse(doc.TokenEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fail(ReasonExchangeUnsupported, "the discovery document of %s has no valid token_endpoint", quote(redact(issuer)))
	}
	return doc.TokenEndpoint, nil
}

// noRedirects makes a copy of client that does not follow redirects: a
// redirected POST would carry the caller's token and the client secret to
// wherever the answer points.
func noRedirects(client *http.Client) *http.Client {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
