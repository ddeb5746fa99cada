package identity

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// MethodConsole marks a Principal proved by a token the gateway signed
// itself for a signed-in console user.
const MethodConsole = "console"

// ReasonConsoleSessionEnded refuses a console token whose session was
// signed out or whose user left the team.
const ReasonConsoleSessionEnded = "console_session_ended"

// LocalIssuer signs short-lived tokens for people signed in to the console,
// so pages running in their browser (the demo chat, "Try it") can call the
// team's engine routes like any other client. Its key is derived from the
// install's secret key, so every replica signs and verifies alike and
// nothing new needs storing.
type LocalIssuer struct {
	url    string
	key    ed25519.PrivateKey
	signer jose.Signer
}

// NewLocalIssuer derives the signing key from secret. url is the iss claim
// (the gateway's public URL followed by /console).
func NewLocalIssuer(url string, secret []byte) (*LocalIssuer, error) {
	seed, err := hkdf.Key(sha256.New, secret, nil, "attach console token signing key", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive console token key: %w", err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("console token signer: %w", err)
	}
	return &LocalIssuer{url: url, key: key, signer: signer}, nil
}

// URL is the iss of the tokens it signs.
func (l *LocalIssuer) URL() string { return l.url }

type localClaims struct {
	jwt.Claims
	Scope string `json:"scope,omitempty"`
	// Session is the console session the token was minted in
	// (tenants.SessionRef), checked on every call.
	Session string `json:"sid"`
}

// Mint signs a token for subject, a console user's (attach.UserSubject),
// in team teamID, from console session sessionRef, valid for ttl.
func (l *LocalIssuer) Mint(teamID, subject, sessionRef, scope string, ttl time.Duration) (string, time.Time, error) {
	now := time.Now()
	exp := now.Add(ttl)
	tok, err := jwt.Signed(l.signer).Claims(localClaims{
		Claims: jwt.Claims{
			Issuer:   l.url,
			Subject:  subject,
			Audience: jwt.Audience{teamID},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(exp),
		},
		Scope:   scope,
		Session: sessionRef,
	}).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign console token: %w", err)
	}
	return tok, exp, nil
}

// ownTokenClaims checks a token the gateway signed itself (what says which
// kind, for the reasons): its signature by key, then its registered claims
// (std, within out) for issuer and time. It fills out.
func ownTokenClaims(tok *jwt.JSONWebToken, key any, out any, std *jwt.Claims, issuer string, now time.Time, leeway time.Duration, what string) error {
	if err := tok.Claims(key, out); err != nil {
		return fail(ReasonBadSignature, "%s signature does not verify", what)
	}
	if std.Expiry == nil {
		return fail(ReasonExpired, "%s has no expiry", what)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: now}, leeway); err != nil {
		if errors.Is(err, jwt.ErrExpired) {
			return fail(ReasonExpired, "%s has expired", what)
		}
		return fail(ReasonNotYetValid, "%s is not valid now", what)
	}
	return nil
}

// verify checks a token that names this issuer: signature, times, and that
// it was minted for this very team.
func (l *LocalIssuer) verify(team *tenants.Snapshot, token string, now time.Time, leeway time.Duration) (attach.Principal, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return attach.Principal{}, fail(ReasonAlgNotAllowed, "console tokens are EdDSA JWTs")
	}
	var cl localClaims
	if err := ownTokenClaims(tok, l.key.Public(), &cl, &cl.Claims, l.url, now, leeway, "console token"); err != nil {
		return attach.Principal{}, err
	}
	if !slices.Contains(cl.Audience, team.Team.ID) {
		return attach.Principal{}, fail(ReasonWrongAudience, "console token was issued for another team")
	}
	// The sub is the console user's subject (attach.UserSubject), which
	// only this issuer may name: checkSubject refuses it in other tokens.
	userID, ok := strings.CutPrefix(cl.Subject, attach.SubjectPrefixUser)
	if !ok || userID == "" {
		return attach.Principal{}, fail(ReasonMissingSubject, "console token names no console user")
	}
	if err := checkSubject(userID, "sub"); err != nil {
		return attach.Principal{}, err
	}
	if cl.Session == "" {
		return attach.Principal{}, fail(ReasonConsoleSessionEnded, "console token names no console session")
	}
	scopes := strings.Fields(cl.Scope)
	return attach.Principal{
		TeamID:    team.Team.ID,
		TeamSlug:  team.Team.Slug,
		Subject:   cl.Subject,
		Issuer:    l.url,
		Method:    MethodConsole,
		Scopes:    scopes,
		ExpiresAt: cl.Expiry.Time(),
		// Checked against Postgres by the caller on every request: the
		// verifier's cache must not keep a removed member in.
		ConsoleSession: cl.Session,
	}, nil
}
