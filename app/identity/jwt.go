package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// header is the part of the JOSE header read before the signature is checked.
type header struct {
	Alg string          `json:"alg"`
	Kid string          `json:"kid"`
	Typ json.RawMessage `json:"typ"`
}

// claims are the registered claims the gateway reads, plus all of them raw
// for the configurable user claim.
type claims struct {
	raw      map[string]json.RawMessage
	iss      string
	aud      []string
	exp      *time.Time
	nbf, iat *time.Time
	clientID string
	scopes   []string
}

// verifyJWT checks a JWT for the team; resource, when set, is the URL the
// token's aud must name instead of the issuer's audience (VerifyResource).
func (v *Verifier) verifyJWT(ctx context.Context, team *tenants.Snapshot, token, resource string, now time.Time) (attach.Principal, error) {
	parts := strings.Split(token, ".")
	switch {
	case len(parts) == 5:
		return attach.Principal{}, fail(ReasonMalformed, "encrypted tokens are not accepted")
	case len(parts) != 3:
		return attach.Principal{}, fail(ReasonMalformed, "token is neither a JWT nor a gateway API key")
	}
	// A DID as iss is a DID-JWT: no issuer, keys from the DID (did.go).
	if cl, ok := didClaims(parts); ok {
		return v.verifyDID(ctx, team, token, parts, cl, resource, now)
	}
	hdr, err := parseHeader(parts[0])
	if err != nil {
		return attach.Principal{}, err
	}
	if parts[2] == "" {
		return attach.Principal{}, fail(ReasonBadSignature, "token is not signed")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return attach.Principal{}, fail(ReasonMalformed, "token payload is not base64url")
	}
	cl, err := parseClaims(payload)
	if err != nil {
		return attach.Principal{}, err
	}

	// The unverified iss only chooses which of the team's issuers to check
	// the signature against; nothing else is trusted before that.
	if cl.iss == "" {
		return attach.Principal{}, fail(ReasonUnknownIssuer, "token has no iss claim")
	}
	// The gateway's own tokens are minted for the team's routes, never
	// for one of its resources.
	if v.cfg.Local != nil && cl.iss == v.cfg.Local.URL() {
		if resource != "" {
			return attach.Principal{}, fail(ReasonWrongAudience, "console tokens are not accepted by %s", quote(resource))
		}
		return v.cfg.Local.verify(team, token, now, v.cfg.Leeway)
	}
	// Exchanged tokens share the gateway's iss with delegation tokens; the
	// kid's prefix says which kind's keys to check.
	if v.cfg.Exchange != nil && cl.iss == v.cfg.Exchange.Issuer() && strings.HasPrefix(hdr.Kid, exchangeKidPrefix) {
		return v.cfg.Exchange.verify(team, token, resource, now, v.cfg.Leeway)
	}
	if v.cfg.Delegation != nil && cl.iss == v.cfg.Delegation.Issuer() {
		if resource != "" {
			return attach.Principal{}, fail(ReasonWrongAudience, "delegation tokens are not accepted by %s", quote(resource))
		}
		return v.cfg.Delegation.verify(team, token, now, v.cfg.Leeway)
	}
	var trusted []attach.Issuer
	algRefused := false
	for _, is := range team.Issuers {
		if is.URL != cl.iss {
			continue
		}
		if len(is.Algorithms) > 0 && !slices.Contains(is.Algorithms, hdr.Alg) {
			algRefused = true
			continue
		}
		trusted = append(trusted, is)
	}
	if len(trusted) == 0 {
		if algRefused {
			return attach.Principal{}, fail(ReasonAlgNotAllowed, "the team does not accept %s tokens from issuer %s", hdr.Alg, quote(cl.iss))
		}
		return attach.Principal{}, fail(ReasonUnknownIssuer, "issuer %s is not trusted by team %q", quote(cl.iss), team.Team.Slug)
	}

	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(hdr.Alg)})
	if err != nil {
		return attach.Principal{}, fail(ReasonMalformed, "token is not a well-formed JWS")
	}
	if err := v.checkSignature(ctx, tok, cl.iss, hdr); err != nil {
		return attach.Principal{}, err
	}

	if err := v.checkTimes(cl, now); err != nil {
		return attach.Principal{}, err
	}
	var issuer *attach.Issuer
	for i := range trusted {
		want := trusted[i].Audience
		if resource != "" {
			want = resource
		}
		if slices.Contains(cl.aud, want) {
			issuer = &trusted[i]
			break
		}
	}
	if issuer == nil && resource != "" {
		return attach.Principal{}, fail(ReasonWrongAudience, "token audience does not include %s", quote(resource))
	}
	if issuer == nil {
		want := make([]string, len(trusted))
		for i, is := range trusted {
			want[i] = quote(is.Audience)
		}
		return attach.Principal{}, fail(ReasonWrongAudience, "token audience does not include %s", strings.Join(want, " or "))
	}
	subject, err := userOf(cl, issuer.UserClaim)
	if err != nil {
		return attach.Principal{}, err
	}
	return attach.Principal{
		TeamID:    team.Team.ID,
		TeamSlug:  team.Team.Slug,
		Subject:   subject,
		Issuer:    cl.iss,
		Method:    attach.MethodOIDC,
		ClientID:  cl.clientID,
		Scopes:    cl.scopes,
		ExpiresAt: *cl.exp,
	}, nil
}

// didClaims returns the claims of a token whose iss is a DID.
func didClaims(parts []string) (claims, bool) {
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, false
	}
	cl, err := parseClaims(payload)
	if err != nil || !strings.HasPrefix(cl.iss, "did:") {
		return claims{}, false
	}
	return cl, true
}

// checkSignature finds the issuer's key for the token (by kid, or every key
// of the right type when the token names none) and verifies with it. An
// unknown kid makes the key source refetch, within its rate limit, so a key
// the issuer has just rotated in is picked up without a restart.
func (v *Verifier) checkSignature(ctx context.Context, tok *jwt.JSONWebToken, iss string, hdr header) error {
	keys, err := v.keys.keysFor(ctx, iss)
	if len(keys) == 0 {
		return unavailable(iss, err)
	}
	candidates := matchingKeys(keys, hdr.Kid, hdr.Alg)
	if len(candidates) == 0 {
		keys, err = v.keys.refreshForUnknownKey(ctx, iss)
		if len(keys) == 0 {
			return unavailable(iss, err)
		}
		candidates = matchingKeys(keys, hdr.Kid, hdr.Alg)
	}
	if len(candidates) == 0 {
		if hdr.Kid == "" {
			return fail(ReasonUnknownKey, "the issuer publishes no %s key", hdr.Alg)
		}
		return fail(ReasonUnknownKey, "the issuer publishes no %s key with kid %s", hdr.Alg, quote(hdr.Kid))
	}
	for _, k := range candidates {
		if tok.Claims(k.Key) == nil {
			return nil
		}
	}
	return fail(ReasonBadSignature, "token signature does not verify")
}

func unavailable(iss string, cause error) *attach.Error {
	return &attach.Error{
		Code:    attach.CodeInvalidToken,
		Reason:  ReasonIssuerUnavailable,
		Message: "the keys of issuer " + quote(redact(iss)) + " could not be fetched",
		Err:     cause,
	}
}

// userOf is the user a token names in userClaim ("" for sub), checked as
// every subject is (checkSubject).
func userOf(cl claims, userClaim string) (string, error) {
	if userClaim == "" {
		userClaim = "sub"
	}
	var subject string
	if err := json.Unmarshal(cl.raw[userClaim], &subject); err != nil || subject == "" {
		return "", fail(ReasonMissingSubject, "token has no %s claim naming the user", quote(userClaim))
	}
	if err := checkSubject(subject, userClaim); err != nil {
		return "", err
	}
	return subject, nil
}

func (v *Verifier) checkTimes(cl claims, now time.Time) error {
	leeway := v.cfg.Leeway
	if cl.exp == nil {
		return fail(ReasonMalformed, "token has no exp claim")
	}
	if !now.Before(cl.exp.Add(leeway)) {
		return fail(ReasonExpired, "token expired at %s", cl.exp.UTC().Format(time.RFC3339))
	}
	if cl.nbf != nil && now.Add(leeway).Before(*cl.nbf) {
		return fail(ReasonNotYetValid, "token is not valid before %s", cl.nbf.UTC().Format(time.RFC3339))
	}
	if cl.iat != nil && now.Add(leeway).Before(*cl.iat) {
		return fail(ReasonIssuedInFuture, "token claims to be issued at %s, in the future", cl.iat.UTC().Format(time.RFC3339))
	}
	return nil
}

func parseHeader(seg string) (header, error) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return header{}, fail(ReasonMalformed, "token header is not base64url")
	}
	// A map, not the struct: JOSE header names are case-sensitive, and
	// encoding/json would take "ALG" or "Kid" for the struct's fields.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return header{}, fail(ReasonMalformed, "token header is not a JSON object")
	}
	h := header{Typ: fields["typ"]}
	for name, dst := range map[string]*string{"alg": &h.Alg, "kid": &h.Kid} {
		if v, ok := fields[name]; ok && string(v) != "null" && json.Unmarshal(v, dst) != nil {
			return header{}, fail(ReasonMalformed, "token header %s is not a string", name)
		}
	}
	if !slices.Contains(attach.SigningAlgorithms, h.Alg) {
		return header{}, fail(ReasonAlgNotAllowed, "token algorithm %s is not allowed", quote(h.Alg))
	}
	if len(h.Typ) > 0 && string(h.Typ) != "null" {
		var typ string
		if err := json.Unmarshal(h.Typ, &typ); err != nil || !acceptedType(typ) {
			return header{}, fail(ReasonBadType, "token type must be JWT or at+jwt")
		}
	}
	return h, nil
}

// acceptedType says whether a typ header names a JWT or an RFC 9068 access
// token. Media types are case-insensitive and may carry "application/".
func acceptedType(typ string) bool {
	t := strings.ToLower(typ)
	t = strings.TrimPrefix(t, "application/")
	return t == "jwt" || t == "at+jwt"
}

func parseClaims(payload []byte) (claims, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return claims{}, fail(ReasonMalformed, "token payload is not a JSON object")
	}
	cl := claims{raw: raw}
	bad := func(name string) (claims, error) {
		return claims{}, fail(ReasonMalformed, "token claim %q has the wrong type", name)
	}
	if v, ok := raw["iss"]; ok && json.Unmarshal(v, &cl.iss) != nil {
		return bad("iss")
	}
	if v, ok := raw["aud"]; ok {
		var one string
		if json.Unmarshal(v, &one) == nil {
			cl.aud = []string{one}
		} else if json.Unmarshal(v, &cl.aud) != nil {
			return bad("aud")
		}
	}
	for _, t := range []struct {
		name string
		dst  **time.Time
	}{{"exp", &cl.exp}, {"nbf", &cl.nbf}, {"iat", &cl.iat}} {
		v, ok := raw[t.name]
		if !ok || string(v) == "null" {
			continue
		}
		at, ok := numericDate(v)
		if !ok {
			return bad(t.name)
		}
		*t.dst = &at
	}
	if v, ok := raw["client_id"]; ok {
		_ = json.Unmarshal(v, &cl.clientID)
	}
	if v, ok := raw["azp"]; ok && cl.clientID == "" {
		_ = json.Unmarshal(v, &cl.clientID)
	}
	cl.scopes = scopesOf(raw)
	return cl, nil
}

// numericDate reads a JSON number of seconds since the epoch (RFC 7519).
func numericDate(v json.RawMessage) (time.Time, bool) {
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return time.Time{}, false
	}
	// Beyond 2^53 seconds a float is no longer a whole second, and the time
	// would overflow; no real token carries such a date.
	if math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// scopesOf reads "scope" (space separated, RFC 8693/9068) or "scp" (an
// array, or a string, as some IdPs send it).
func scopesOf(raw map[string]json.RawMessage) []string {
	var s string
	if v, ok := raw["scope"]; ok && json.Unmarshal(v, &s) == nil {
		return strings.Fields(s)
	}
	if v, ok := raw["scp"]; ok {
		var list []string
		if json.Unmarshal(v, &list) == nil {
			return list
		}
		if json.Unmarshal(v, &s) == nil {
			return strings.Fields(s)
		}
	}
	return nil
}

// checkSubject refuses a user claim that could pass for another kind of
// principal (an API key's "apikey:<id>", a console user's "user:<id>"),
// which would get that principal's identity, session and memory, and one
// with control characters. Other
// subjects are kept exactly as the issuer wrote them, so users keep the
// X-Attach-User they have always had.
func checkSubject(subject, claim string) error {
	if !attach.PrintableSubject(subject) {
		return fail(ReasonInvalidSubject, "token claim %s holds control characters", quote(claim))
	}
	if attach.ReservedSubject(subject) {
		return fail(ReasonReservedSubject, "token claim %s starts with %q or %q, which the gateway keeps for its API keys and console users", quote(claim), attach.SubjectPrefixAPIKey, attach.SubjectPrefixUser)
	}
	return nil
}
