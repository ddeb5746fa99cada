package identity

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// Lifetimes of exchanged tokens: ExchangeTTL unless asked otherwise, never
// more than MaxExchangeTTL, and never beyond the token given in exchange.
const (
	ExchangeTTL    = 10 * time.Minute
	MaxExchangeTTL = time.Hour
)

// exchangeKidPrefix starts the kid of every exchanged token's key. The
// tokens share their iss with delegation tokens (both are the gateway's);
// the kid tells them apart, and each kind's keys come from a derivation of
// their own, so one kind can never verify as the other.
const exchangeKidPrefix = "xch-"

// Exchanger signs and checks the tokens the gateway issues at its token
// endpoint (RFC 8693) in exchange for a token it has verified: each is
// bound to exactly one audience of one team. Like delegation keys, its keys
// are derived from the install's secret key and the period they sign in.
type Exchanger struct {
	issuer string // the gateway's public URL: the tokens' iss
	keys   periodKeys
	now    func() time.Time
}

// NewExchanger returns an Exchanger for the gateway at publicURL.
func NewExchanger(publicURL string, secret []byte) (*Exchanger, error) {
	if len(secret) == 0 {
		return nil, errors.New("exchanged tokens need a secret key")
	}
	keys := periodKeys{secret: slices.Clone(secret), info: "attach exchanged token signing key ", kidPrefix: exchangeKidPrefix, what: "exchanged token key"}
	return &Exchanger{issuer: strings.TrimRight(publicURL, "/"), keys: keys, now: time.Now}, nil
}

// Issuer is the iss of the tokens it signs: the gateway's public URL, as
// for delegation tokens.
func (x *Exchanger) Issuer() string { return x.issuer }

// TeamAudience is the audience that stands for a team's gateway as a
// whole (its engines, memory and agents): the team's gateway URL.
func (x *Exchanger) TeamAudience(teamSlug string) string { return x.issuer + "/t/" + teamSlug }

// AgentAudience is the audience of one of the team's agents.
func (x *Exchanger) AgentAudience(teamSlug, agent string) string {
	return x.TeamAudience(teamSlug) + "/a2a/" + agent
}

// MCPAudience is the audience of one of the team's MCP servers.
func (x *Exchanger) MCPAudience(teamSlug, server string) string {
	return x.TeamAudience(teamSlug) + "/mcp/" + server
}

// Exchange is what an exchanged token says: Subject, as verified from the
// token given in exchange, may call Audience within the team with Scopes.
// When the caller was an agent acting for a user (a delegation token),
// Actor is the agent and Session, Task and Depth carry on the hand-off.
type Exchange struct {
	TeamID, TeamSlug string
	Subject          string
	Audience         string
	Scopes           []string
	ClientID         string
	Actor            string
	Session, Task    string
	Depth            int
	// ExpiresAt is when the token ends; zero means ExchangeTTL from now.
	// It is cut to MaxExchangeTTL from now.
	ExpiresAt time.Time
}

type exchangeClaims struct {
	jwt.Claims
	Scope    string `json:"scope,omitempty"`
	Tenant   string `json:"tenant"`
	ClientID string `json:"client_id,omitempty"`
	Act      *actor `json:"act,omitempty"`
	Session  string `json:"session,omitempty"`
	Task     string `json:"task,omitempty"`
	Depth    int    `json:"depth,omitempty"`
}

// Mint signs an exchanged token and returns it with its expiry.
func (x *Exchanger) Mint(e Exchange) (string, time.Time, error) {
	now := x.now()
	exp := e.ExpiresAt
	if exp.IsZero() {
		exp = now.Add(ExchangeTTL)
	}
	if limit := now.Add(MaxExchangeTTL); exp.After(limit) {
		exp = limit
	}
	if !exp.After(now) {
		return "", time.Time{}, errors.New("exchanged token would be expired at once")
	}
	if e.Audience == "" || e.Subject == "" || e.TeamID == "" {
		return "", time.Time{}, errors.New("exchanged token needs a team, a subject and an audience")
	}
	key, kid, err := x.keys.key(period(now))
	if err != nil {
		return "", time.Time{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("exchanged token signer: %w", err)
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti) // crypto/rand never fails on supported platforms
	cl := exchangeClaims{
		Claims: jwt.Claims{
			Issuer:   x.issuer,
			Subject:  e.Subject,
			Audience: jwt.Audience{e.Audience},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(exp),
			ID:       hex.EncodeToString(jti),
		},
		Scope: strings.Join(e.Scopes, " "), Tenant: e.TeamID, ClientID: e.ClientID,
		Session: e.Session, Task: e.Task, Depth: e.Depth,
	}
	if e.Actor != "" {
		cl.Act = &actor{Sub: e.Actor}
	}
	tok, err := jwt.Signed(signer).Claims(cl).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign exchanged token: %w", err)
	}
	// The claim holds whole seconds: report the expiry the token carries.
	return tok, cl.Expiry.Time(), nil
}

// Keys are the public keys exchanged tokens verify against: those of the
// previous, current and next periods, for the gateway's JWKS.
func (x *Exchanger) Keys() ([]jose.JSONWebKey, error) { return x.keys.around(x.now()) }

// verify checks an exchanged token for the team. With resource set
// (VerifyResource) the token's audience must be exactly resource; without,
// it must be the team's gateway URL or one of its agents, and the caller
// learns which from Principal.Audience and checks it against its route.
func (x *Exchanger) verify(team *tenants.Snapshot, token, resource string, now time.Time, leeway time.Duration) (attach.Principal, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return attach.Principal{}, fail(ReasonAlgNotAllowed, "exchanged tokens are EdDSA JWTs")
	}
	kid, ok := strings.CutPrefix(tok.Headers[0].KeyID, exchangeKidPrefix)
	p, perr := strconv.ParseInt(kid, 10, 64)
	if !ok || perr != nil || p < period(now)-1 || p > period(now)+1 {
		return attach.Principal{}, fail(ReasonUnknownKey, "exchanged token names no current gateway key")
	}
	key, _, err := x.keys.key(p)
	if err != nil {
		return attach.Principal{}, err
	}
	var cl exchangeClaims
	if err := ownTokenClaims(tok, key.Public(), &cl, &cl.Claims, x.issuer, now, leeway, "exchanged token"); err != nil {
		return attach.Principal{}, err
	}
	if cl.Tenant != team.Team.ID || len(cl.Audience) != 1 {
		return attach.Principal{}, fail(ReasonWrongAudience, "exchanged token was issued for another team")
	}
	aud := cl.Audience[0]
	base := x.TeamAudience(team.Team.Slug)
	switch {
	case resource != "":
		if aud != resource {
			return attach.Principal{}, fail(ReasonWrongAudience, "exchanged token was issued for %s, not %s", quote(aud), quote(resource))
		}
	case aud == base:
	case strings.HasPrefix(aud, base+"/a2a/"):
	default:
		return attach.Principal{}, fail(ReasonWrongAudience, "exchanged token was issued for %s, not for this route", quote(aud))
	}
	if cl.Subject == "" {
		return attach.Principal{}, fail(ReasonMissingSubject, "exchanged token names no subject")
	}
	// The gateway wrote this subject after verifying it; it may be one of
	// its own principals (an API key's, a console user's).
	if !attach.PrintableSubject(cl.Subject) {
		return attach.Principal{}, fail(ReasonInvalidSubject, "exchanged token's subject holds control characters")
	}
	pr := attach.Principal{
		TeamID: team.Team.ID, TeamSlug: team.Team.Slug,
		Subject: cl.Subject, Issuer: x.issuer, Method: attach.MethodExchange,
		ClientID: cl.ClientID, Scopes: strings.Fields(cl.Scope),
		Session: cl.Session, Task: cl.Task, Depth: cl.Depth,
		ExpiresAt: cl.Expiry.Time(), Audience: aud,
	}
	if cl.Act != nil {
		pr.Actor = cl.Act.Sub
	}
	return pr, nil
}
