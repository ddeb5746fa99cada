package identity_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// clock is a settable time source; it starts at the real time because the
// provider stamps its tokens with the real time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// snapshot is a team that trusts issuerURL for audience, with optional keys.
func snapshot(slug string, version uint64, issuers []attach.Issuer, keys ...attach.APIKey) *tenants.Snapshot {
	team := attach.Team{ID: "team-" + slug, Slug: slug, Name: "Team " + slug}
	for i := range issuers {
		issuers[i].TeamID = team.ID
		if issuers[i].ID == "" {
			issuers[i].ID = "iss-" + slug
		}
	}
	return tenants.NewSnapshot(team, issuers, nil, nil, keys, version)
}

// startTeamIdP starts a provider and gives team "a", which trusts it for
// the audience api://team-a.
func startTeamIdP(t testing.TB) (*oidctest.Provider, *tenants.Snapshot) {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{})
	return idp, snapshot("a", 1, trust(idp.Issuer(), "api://team-a"))
}

func trust(issuerURL, audience string) []attach.Issuer {
	return []attach.Issuer{{URL: issuerURL, Audience: audience}}
}

// craft signs claims with key under alg, with kid and typ in the header when
// they are not empty. key is a crypto.Signer, or []byte for HMAC.
func craft(t testing.TB, alg string, key any, kid, typ string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	if secret, ok := key.([]byte); ok {
		// HMAC by hand: go-jose rightly refuses some of the keys the attacks
		// below use.
		hdr := map[string]any{"alg": alg}
		if kid != "" {
			hdr["kid"] = kid
		}
		if typ != "" {
			hdr["typ"] = typ
		}
		h, _ := json.Marshal(hdr)
		input := b64(h) + "." + b64(payload)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: key.(crypto.Signer), KeyID: kid},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claimsAt are valid claims for issuer and audience at now.
func claimsAt(issuer, audience string, now time.Time) map[string]any {
	return map[string]any{
		"iss": issuer,
		"aud": audience,
		"sub": "alice",
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
}

// wantReason fails unless err is a refused token with reason and a
// description that does not echo the token.
func wantReason(t testing.TB, err error, reason, token string) *attach.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("verified, want %s", reason)
	}
	var e *attach.Error
	if !errors.As(err, &e) || e.Code != attach.CodeInvalidToken {
		t.Fatalf("error %T %v is not a refused token", err, err)
	}
	if e.Reason != reason {
		t.Fatalf("reason %q (%s), want %q", e.Reason, e.Message, reason)
	}
	if e.Message == "" {
		t.Errorf("reason %s has no description", reason)
	}
	if len(token) > 20 && strings.Contains(e.Error(), token[:20]) {
		t.Errorf("error %q echoes the token", e.Error())
	}
	return e
}
