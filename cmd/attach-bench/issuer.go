package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims of the bench token.
const (
	benchAudience = "bench"
	benchSubject  = "bench-user"
	benchKeyID    = "bench"
)

// issuer is a minimal OpenID Connect provider: discovery and a JWKS with one
// RSA-2048 key. That is all a resource server needs to verify tokens, and it
// keeps the bench free of Node and of a provider's own latency.
type issuer struct {
	url string
	key *rsa.PrivateKey
	srv *http.Server
}

func startIssuer() (*issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate issuer key: %w", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the issuer: %w", err)
	}
	is := &issuer{url: "http://" + ln.Addr().String(), key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks.json", is.jwks)
	is.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := is.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("issuer stopped: %v\n", err)
		}
	}()
	return is, nil
}

func (is *issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                is.url,
		"jwks_uri":                              is.url + "/jwks.json",
		"authorization_endpoint":                is.url + "/auth",
		"token_endpoint":                        is.url + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (is *issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &is.key.PublicKey,
		KeyID:     benchKeyID,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Printf("issuer: write response: %v\n", err)
	}
}

// mint signs an RS256 JWT for the bench audience, valid for ttl from now.
func (is *issuer) mint(now time.Time, ttl time.Duration) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: benchKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("make token signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   is.url,
		Subject:  benchSubject,
		Audience: jwt.Audience{benchAudience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ttl)),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

func (is *issuer) Close(ctx context.Context) error {
	return is.srv.Shutdown(ctx)
}
