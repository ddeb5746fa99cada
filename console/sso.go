package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/oauth2"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/web"
)

// Single sign-on is the OpenID Connect authorization code flow with PKCE,
// state and nonce. The three values live, between the redirect to the
// provider and the way back, in a short-lived HttpOnly cookie signed with
// the install's cookie key; the callback checks all three, and the ID
// token's signature, issuer, audience, expiry and nonce.

const ssoFlowTTL = 10 * time.Minute

// ssoClient talks to the provider. Discovery happens on first use, not at
// start-up, so a provider that is down does not keep the gateway from
// starting; a failed discovery is tried again on the next sign-in.
type ssoClient struct {
	cfg      OIDCConfig
	redirect string
	client   *http.Client
	key      []byte

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	// endSession is the provider's end_session_endpoint, when it offers
	// RP-initiated logout; "" otherwise.
	endSession string
}

func newSSOClient(cfg OIDCConfig, redirect string, client *http.Client, key []byte) *ssoClient {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("attach console sso cookie"))
	return &ssoClient{cfg: cfg, redirect: redirect, client: client, key: mac.Sum(nil)}
}

func (s *ssoClient) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		return s.oauth, s.verifier, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.client), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, s.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", s.cfg.Issuer, err)
	}
	s.oauth = &oauth2.Config{
		ClientID:     s.cfg.ClientID,
		ClientSecret: s.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  s.redirect,
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID})
	s.endSession = endSessionEndpoint(p)
	return s.oauth, s.verifier, nil
}

// ssoFlow is one sign-in under way, as carried in the cookie.
type ssoFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x,omitempty"`
	Expires  int64  `json:"e"`
}

func (s *ssoClient) seal(f ssoFlow) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + s.sign(payload), nil
}

func (s *ssoClient) open(v string, now time.Time) (ssoFlow, bool) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(payload))) {
		return ssoFlow{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ssoFlow{}, false
	}
	var f ssoFlow
	if json.Unmarshal(b, &f) != nil || now.Unix() > f.Expires || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return ssoFlow{}, false
	}
	return f, true
}

func (s *ssoClient) sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func ssoURL(next string) string {
	if next == "" {
		return Base + "/sso"
	}
	return Base + "/sso?" + url.Values{"next": {next}}.Encode()
}

// ssoStart sends the browser to the provider.
func (c *Console) ssoStart(fc *fiber.Ctx) error {
	if c.sso == nil {
		return c.notFound(fc)
	}
	next := fc.Query("next")
	if !safeNext(next) {
		next = ""
	}
	oc, _, err := c.sso.discover(fc.UserContext())
	if err != nil {
		c.log.Warn("console: sso discovery", "err", err)
		return c.ssoFailed(fc, attach.CodeUpstreamUnavailable, "The sign-in provider cannot be reached right now. Try again in a moment, or sign in with a password.")
	}
	f := ssoFlow{
		State:    randomToken(),
		Nonce:    randomToken(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		Expires:  time.Now().Add(ssoFlowTTL).Unix(),
	}
	sealed, err := c.sso.seal(f)
	if err != nil {
		return c.internal(fc, "seal sso state", err)
	}
	fc.Cookie(&fiber.Cookie{
		Name:     c.cookie.sso,
		Value:    sealed,
		Path:     Base + "/sso",
		MaxAge:   int(ssoFlowTTL / time.Second),
		HTTPOnly: true,
		Secure:   c.secure,
		// Lax: the provider sends the browser back with a top-level GET,
		// which Lax cookies go along with.
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return seeOther(fc, oc.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)))
}

// providerError is the shape of an OAuth error code, safe to show.
var providerError = regexp.MustCompile(`^[a-z_]{1,64}$`)

// ssoCallback finishes the sign-in: the flow cookie must be there, signed
// and fresh, its state must match, the code must redeem with its PKCE
// verifier, and the ID token must verify and carry its nonce.
func (c *Console) ssoCallback(fc *fiber.Ctx) error {
	if c.sso == nil {
		return c.notFound(fc)
	}
	f, ok := c.sso.open(fc.Cookies(c.cookie.sso), time.Now())
	c.clearCookie(fc, c.cookie.sso, Base+"/sso") // one use, whatever happens
	if !ok {
		return c.ssoFailed(fc, attach.CodeBadRequest, "This sign-in expired or was started in another browser. Please sign in again.")
	}
	if e := fc.Query("error"); e != "" {
		msg := "The sign-in provider did not sign you in."
		if providerError.MatchString(e) {
			msg += " It said: " + e + "."
		}
		return c.ssoFailed(fc, attach.CodeBadRequest, msg)
	}
	if !tokensEqual(fc.Query("state"), f.State) {
		return c.ssoFailed(fc, attach.CodeBadRequest, "This sign-in did not match the one this browser started. Please sign in again.")
	}
	code := fc.Query("code")
	if code == "" {
		return c.ssoFailed(fc, attach.CodeBadRequest, "The sign-in provider sent no authorization code. Please sign in again.")
	}
	oc, verifier, err := c.sso.discover(fc.UserContext())
	if err != nil {
		c.log.Warn("console: sso discovery", "err", err)
		return c.ssoFailed(fc, attach.CodeUpstreamUnavailable, "The sign-in provider cannot be reached right now. Try again in a moment.")
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(fc.UserContext(), c.sso.client), 20*time.Second)
	defer cancel()
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		c.log.Warn("console: sso code exchange", "err", redactOAuth(err))
		return c.ssoFailed(fc, attach.CodeUpstreamUnavailable, "The sign-in provider refused to complete the sign-in. Please sign in again.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return c.ssoFailed(fc, attach.CodeUpstreamUnavailable, "The sign-in provider sent no ID token.")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		c.log.Warn("console: sso id token", "err", err)
		return c.ssoFailed(fc, attach.CodeBadRequest, "The sign-in provider's answer did not verify. Please sign in again.")
	}
	if !tokensEqual(idt.Nonce, f.Nonce) {
		return c.ssoFailed(fc, attach.CodeBadRequest, "The sign-in provider's answer was not for this sign-in. Please sign in again.")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"` // a boolean; some providers send "true"
		Name          string `json:"name"`
	}
	var all map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil || idt.Claims(&all) != nil {
		return c.ssoFailed(fc, attach.CodeUpstreamUnavailable, "The sign-in provider's answer could not be read.")
	}
	u, err := c.store.UpsertOIDCUser(fc.UserContext(), c.cfg.OIDC.Issuer, idt.Subject, claims.Email, claims.Name,
		claims.EmailVerified == true || claims.EmailVerified == "true")
	if err != nil {
		if e, ok := errors.AsType[*attach.Error](err); ok && e.Reason == tenants.ReasonAccountLocked {
			return c.ssoFailed(fc, attach.CodeForbidden, lockedMessage)
		}
		if attach.ErrorCode(err) == attach.CodeConflict {
			return c.ssoFailed(fc, attach.CodeConflict, "An account with your email exists already. Sign in with its password instead.")
		}
		if fe, ok := asFormErrors(err); ok {
			return c.ssoFailed(fc, attach.CodeInvalid, "Your account at the sign-in provider cannot be used here: "+firstError(fe))
		}
		return c.internal(fc, "save sso user", err)
	}
	token, err := c.newSession(fc, u, groupsClaim(all[c.cfg.OIDC.GroupsClaim]))
	if err != nil {
		return c.internal(fc, "start session", err)
	}
	if c.sso.logoutEndpoint() != "" && !c.cfg.OIDC.LocalSignOut {
		// Kept for signing out at the provider too (id_token_hint).
		if _, err := c.store.KeepSessionIDToken(fc.UserContext(), token, raw); err != nil {
			c.log.Warn("console: keep id token for sign-out", "err", err)
		}
	}
	return seeOther(fc, orHome(f.Next))
}

// ssoFailed shows the sign-in page with what went wrong; code decides the
// status, and a script sees the code sso_failed.
func (c *Console) ssoFailed(fc *fiber.Ctx, code, msg string) error {
	e := &attach.Error{Code: code, Reason: "sso_failed", Message: msg}
	if wantsJSON(fc) {
		return web.WriteError(fc, e)
	}
	v := signInView{CSRF: c.preToken(fc), SSO: true, Error: msg}
	return render(fc, web.Status(e), signInPage(c.chrome(fc, "Sign in"), v))
}

// redactOAuth keeps an exchange error's OAuth code but not the response
// body, which a provider may fill with anything.
func redactOAuth(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
	}
	return err.Error()
}

// firstError says in words what is wrong with the account the provider
// gives, without the store's field names.
func firstError(fe formErrors) string {
	for field, msg := range fe {
		what := "the " + strings.ReplaceAll(field, "_", " ") + " it gives "
		if msg == "" {
			return what + "is not accepted."
		}
		return what + strings.ToLower(msg[:1]) + msg[1:] + "."
	}
	return "it is not accepted."
}

// groupsClaim reads the provider's group claim: a list of names, or one
// name as a plain string, as some providers send a single group. Anything
// else (numbers, objects, a missing claim) is no group; the store keeps a
// bounded number of them.
func groupsClaim(raw json.RawMessage) []string {
	if one, ok := jsonString(raw); ok {
		return []string{one}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]string, 0, min(len(list), tenants.MaxSessionGroups))
	for _, item := range list {
		if len(out) == tenants.MaxSessionGroups {
			break
		}
		if g, ok := jsonString(item); ok {
			out = append(out, g)
		}
	}
	return out
}

// jsonString decodes raw when it is a JSON string (not null, which
// json.Unmarshal would take for an empty one).
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.Trim(raw, " \t\r\n") // JSON's whitespace only
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
