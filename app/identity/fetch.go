package identity

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	attach "github.com/attach-dev/attach-gateway"
)

// maxDocumentBytes caps a discovery document or key set: a real one is a few
// KiB, and an issuer must not be able to exhaust the gateway's memory.
const maxDocumentBytes = 1 << 20

// minRSABits refuses RSA keys too short to be trusted.
const minRSABits = 2048

// download returns the issuer's signing keys and the jwks_uri they came from.
// With a known jwksURI it fetches the key set directly and falls back to
// discovery only if that fails, in case the issuer moved its keys.
func (s *keySource) download(ctx context.Context, issuer, jwksURI string) ([]jose.JSONWebKey, string, error) {
	if jwksURI != "" {
		keys, err := s.fetchJWKS(ctx, jwksURI)
		if err == nil {
			return keys, jwksURI, nil
		}
	}
	uri, err := s.discover(ctx, issuer)
	if err != nil {
		return nil, "", err
	}
	keys, err := s.fetchJWKS(ctx, uri)
	if err != nil {
		return nil, "", err
	}
	return keys, uri, nil
}

// discover reads {issuer}/.well-known/openid-configuration and returns its
// jwks_uri, after checking the document speaks for this exact issuer.
func (s *keySource) discover(ctx context.Context, issuer string) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	endpoint := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if err := s.getJSON(ctx, endpoint, &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != issuer {
		return "", &IssuerMismatchError{Named: doc.Issuer, Asked: issuer}
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("discovery document has no valid jwks_uri")
	}
	return doc.JWKSURI, nil
}

// fetchJWKS reads a key set and keeps its public signing keys. Keys that do
// not parse, are meant for encryption, are symmetric or are weak are skipped
// rather than failing the whole set: issuers publish all sorts.
func (s *keySource) fetchJWKS(ctx context.Context, uri string) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := s.getJSON(ctx, uri, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.IsPublic() {
			// An issuer that publishes a private key by mistake must not
			// make the gateway hold it.
			k = k.Public()
		}
		if !k.Valid() {
			continue
		}
		if pub, ok := k.Key.(*rsa.PublicKey); ok && pub.N.BitLen() < minRSABits {
			continue
		}
		if !keyFitsAny(k) {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, ErrNoUsableKeys
	}
	return keys, nil
}

func keyFitsAny(k jose.JSONWebKey) bool {
	for _, alg := range attach.SigningAlgorithms {
		if keyFits(k, alg) {
			return true
		}
	}
	return false
}

// getJSON GETs a document of at most maxDocumentBytes and decodes it. Errors
// name the URL without credentials or query.
func (s *keySource) getJSON(ctx context.Context, rawURL string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("bad URL %s", redact(rawURL))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("GET %s: %w", redact(rawURL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", redact(rawURL), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: read body: %w", redact(rawURL), err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("GET %s: document larger than %d bytes", redact(rawURL), maxDocumentBytes)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: not a JSON document: %w", redact(rawURL), err)
	}
	return nil
}

// redact drops user info, query and fragment from a URL, where credentials
// could hide, so it can go into logs and error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
