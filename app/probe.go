package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// prober makes the checks the console runs when a team saves an engine or
// an issuer: every call obeys the install's network policy, and every
// failure is told in words a team admin can act on.
type prober struct {
	policy netguard.Policy
	client *http.Client
	// own tests the side-car engine, the operator's, which may sit on a
	// private address the policy refuses to teams; sidecar recognises it.
	own     *http.Client
	sidecar sidecarEngine
	verify  *identity.Verifier
	dir     *tenants.Directory // holds engines' upstream keys in clear
}

func newProber(policy netguard.Policy, sidecar sidecarEngine, verify *identity.Verifier, dir *tenants.Directory) *prober {
	return &prober{
		policy: policy, client: policy.HTTPClient(10 * time.Second),
		own: ownPolicy.HTTPClient(10 * time.Second), sidecar: sidecar,
		verify: verify, dir: dir,
	}
}

// ProbeEngine tests a saved engine with its upstream key, which only the
// team directory holds in clear. The directory follows the database a few
// milliseconds behind, so a test right after a save waits for the save.
func (p *prober) ProbeEngine(ctx context.Context, e attach.Engine) ([]string, time.Duration, error) {
	var current attach.Engine
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := p.dir.WaitFor(wctx, func(d *tenants.Directory) bool {
		team, ok := d.TeamByID(e.TeamID)
		if !ok {
			return false
		}
		for _, x := range team.Engines {
			if x.ID == e.ID && !x.UpdatedAt.Before(e.UpdatedAt) {
				current = x
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, 0, errors.New("the engine's saved settings have not reached this server yet; try again in a moment")
	}
	if p.sidecar.Is(current) {
		return p.probeWith(ctx, p.own, current.Dialect, current.BaseURL, current.APIKey)
	}
	return p.probeURL(ctx, current.Dialect, current.BaseURL, current.APIKey)
}

// CheckURL refuses a URL the gateway may not call.
func (p *prober) CheckURL(ctx context.Context, raw string) error {
	if err := p.policy.CheckURL(ctx, raw); err != nil {
		return plainNetError(err)
	}
	return nil
}

// CheckIssuer fetches the issuer's discovery document and keys. An issuer
// URL typed with a trailing slash that discovery writes without one (or
// the reverse) is the same issuer: it is checked and returned as discovery
// writes it, since tokens' "iss" must match it byte for byte.
func (p *prober) CheckIssuer(ctx context.Context, issuerURL string) (string, int, error) {
	if err := p.CheckURL(ctx, issuerURL); err != nil {
		return "", 0, err
	}
	n, err := p.verify.Check(ctx, issuerURL)
	var mismatch *identity.IssuerMismatchError
	if errors.As(err, &mismatch) && sameButSlash(mismatch.Named, issuerURL) {
		issuerURL = mismatch.Named
		n, err = p.verify.Check(ctx, issuerURL)
	}
	if err != nil {
		return "", 0, plainIssuerError(err)
	}
	if n == 0 {
		return "", 0, errors.New("the issuer publishes no signing keys the gateway can use (RSA, EC or Ed25519)")
	}
	return issuerURL, n, nil
}

// sameButSlash tells whether two issuer URLs differ at most by one
// trailing slash.
func sameButSlash(a, b string) bool {
	return a != "" && b != "" && strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// probeURL asks an engine for its models: /api/tags for Ollama, /v1/models
// for OpenAI-compatible engines.
// A refused address is refused here and again when dialing, before any
// connection: "Test" says the same of an open port and a closed one, so it
// cannot scan the install's network.
func (p *prober) probeURL(ctx context.Context, engineDialect, baseURL, apiKey string) ([]string, time.Duration, error) {
	if err := p.CheckURL(ctx, baseURL); err != nil {
		return nil, 0, err
	}
	return p.probeWith(ctx, p.client, engineDialect, baseURL, apiKey)
}

func (p *prober) probeWith(ctx context.Context, client *http.Client, engineDialect, baseURL, apiKey string) ([]string, time.Duration, error) {
	path := dialect.ListPath(engineDialect)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dialect.URL(baseURL, path), nil)
	if err != nil {
		return nil, 0, errors.New("the base URL is not valid")
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	start := time.Now()
	resp, err := client.Do(req)
	rtt := time.Since(start)
	if err != nil {
		return nil, rtt, plainNetError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, rtt, fmt.Errorf("the engine's answer broke off: %w", plainNetError(err))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, rtt, fmt.Errorf("the engine refused the request (HTTP %d): check the API key", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return nil, rtt, fmt.Errorf("the engine has no %s (HTTP 404): is the dialect right, and the base URL the engine's root?", path)
	case resp.StatusCode >= 400:
		return nil, rtt, fmt.Errorf("the engine answered HTTP %d to %s", resp.StatusCode, path)
	}
	list, err := dialect.ReadModels(engineDialect, body)
	var models []string
	if err == nil {
		models, err = list.Names()
	}
	if err != nil {
		return nil, rtt, fmt.Errorf("the engine's answer to %s is not a model list: is the dialect right?", path)
	}
	return models, rtt, nil
}

// plainNetError turns a network error into a sentence for a form. URLs are
// left out: they may hold credentials.
func plainNetError(err error) error {
	var dnsErr *net.DNSError
	var urlErr *url.Error
	switch {
	case errors.Is(err, netguard.ErrRefused):
		msg := err.Error()
		if i := strings.Index(msg, netguard.ErrRefused.Error()); i >= 0 {
			msg = msg[i:]
		}
		return errors.New("the gateway may not call this address (" + msg + ")")
	case errors.As(err, &dnsErr):
		return fmt.Errorf("the host name %s could not be resolved", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused: nothing is listening at that address and port")
	case errors.Is(err, context.DeadlineExceeded) || isTimeoutErr(err):
		return errors.New("no answer within 10 seconds")
	case errors.As(err, &urlErr):
		return fmt.Errorf("the request failed: %v", urlErr.Err)
	}
	return err
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
