package identity

import (
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

// MethodDelegation marks a Principal proved by a delegation token: an
// agent calling back through the gateway on behalf of the user whose task
// it is working on.
const MethodDelegation = "delegation"

// DelegationTTL is how long a delegation token lives: long enough for an
// agent's step, short enough that a leaked one soon means nothing.
const DelegationTTL = 10 * time.Minute

// keyPeriod is how long one signing key signs. A key is published from
// the period before it signs (so a replica whose clock runs ahead is
// believed) until the period after (so its last tokens outlive it).
const keyPeriod = 24 * time.Hour

// Delegator signs and checks delegation tokens. Its keys are derived from
// the install's secret key and the period they sign in, so every replica
// signs and verifies alike, rotation needs no coordination, and nothing is
// stored.
type Delegator struct {
	issuer string // the gateway's public URL: the tokens' iss
	keys   periodKeys
	now    func() time.Time
}

// NewDelegator returns a Delegator for the gateway at publicURL.
func NewDelegator(publicURL string, secret []byte) (*Delegator, error) {
	if len(secret) == 0 {
		return nil, errors.New("delegation tokens need a secret key")
	}
	keys := periodKeys{secret: slices.Clone(secret), info: "attach delegation token signing key ", kidPrefix: "dlg-", what: "delegation key"}
	return &Delegator{issuer: strings.TrimRight(publicURL, "/"), keys: keys, now: time.Now}, nil
}

// Issuer is the iss of the tokens it signs.
func (d *Delegator) Issuer() string { return d.issuer }

// Audience is the aud of a token for a team: the team's gateway URL.
func (d *Delegator) Audience(teamSlug string) string { return d.issuer + "/t/" + teamSlug }

func period(t time.Time) int64 { return t.Unix() / int64(keyPeriod/time.Second) }

// Delegation is what a delegation token says: an agent (Actor) acts for
// User, in the user's session, within the team, for a task.
type Delegation struct {
	TeamID, TeamSlug string
	User, Session    string
	Actor            string // the agent's name
	Task             string // the gateway's id of the task the agent works on
	Depth            int    // 1 for an agent a user called; one more per hop
}

type delegationClaims struct {
	jwt.Claims
	Act     actor  `json:"act"`
	Tenant  string `json:"tenant"`
	Session string `json:"session,omitempty"`
	Task    string `json:"task,omitempty"`
	Depth   int    `json:"depth"`
}

// actor is RFC 8693's "act" claim: who acts for the subject.
type actor struct {
	Sub string `json:"sub"`
}

// Mint signs a delegation token valid for DelegationTTL.
func (d *Delegator) Mint(dl Delegation) (string, time.Time, error) {
	now := d.now()
	key, kid, err := d.keys.key(period(now))
	if err != nil {
		return "", time.Time{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("delegation token signer: %w", err)
	}
	exp := now.Add(DelegationTTL)
	tok, err := jwt.Signed(signer).Claims(delegationClaims{
		Claims: jwt.Claims{
			Issuer:   d.issuer,
			Subject:  dl.User,
			Audience: jwt.Audience{d.Audience(dl.TeamSlug)},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(exp),
		},
		Act: actor{Sub: dl.Actor}, Tenant: dl.TeamID, Session: dl.Session, Task: dl.Task, Depth: dl.Depth,
	}).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign delegation token: %w", err)
	}
	return tok, exp, nil
}

// JWKS is the public key set the tokens verify against: the keys of the
// previous, current and next periods.
func (d *Delegator) JWKS() (jose.JSONWebKeySet, error) {
	keys, err := d.keys.around(d.now())
	return jose.JSONWebKeySet{Keys: keys}, err
}

// verify checks a token that names the gateway as issuer: signature by a
// key of this or an adjacent period, times, and that it was minted for this
// very team.
func (d *Delegator) verify(team *tenants.Snapshot, token string, now time.Time, leeway time.Duration) (attach.Principal, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return attach.Principal{}, fail(ReasonAlgNotAllowed, "delegation tokens are EdDSA JWTs")
	}
	kid, ok := strings.CutPrefix(tok.Headers[0].KeyID, d.keys.kidPrefix)
	p, perr := strconv.ParseInt(kid, 10, 64)
	if !ok || perr != nil || p < period(now)-1 || p > period(now)+1 {
		return attach.Principal{}, fail(ReasonUnknownKey, "delegation token names no current gateway key")
	}
	key, _, err := d.keys.key(p)
	if err != nil {
		return attach.Principal{}, err
	}
	var cl delegationClaims
	if err := ownTokenClaims(tok, key.Public(), &cl, &cl.Claims, d.issuer, now, leeway, "delegation token"); err != nil {
		return attach.Principal{}, err
	}
	if cl.Tenant != team.Team.ID || !slices.Contains(cl.Audience, d.Audience(team.Team.Slug)) {
		return attach.Principal{}, fail(ReasonWrongAudience, "delegation token was issued for another team")
	}
	if cl.Subject == "" {
		return attach.Principal{}, fail(ReasonMissingSubject, "delegation token names no user")
	}
	// The gateway signed this subject itself: it may be one of its own
	// principals (an API key's, a console user's), which tokens from
	// elsewhere may never name.
	if !attach.PrintableSubject(cl.Subject) {
		return attach.Principal{}, fail(ReasonInvalidSubject, "delegation token's user holds control characters")
	}
	return attach.Principal{
		TeamID: team.Team.ID, TeamSlug: team.Team.Slug,
		Subject: cl.Subject, Issuer: d.issuer, Method: MethodDelegation,
		Actor: cl.Act.Sub, Session: cl.Session, Task: cl.Task, Depth: cl.Depth,
		ExpiresAt: cl.Expiry.Time(),
	}, nil
}
