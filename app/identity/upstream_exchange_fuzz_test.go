package identity_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
)

// FuzzUpstreamExchangeAnswer has the exchange issuer answer anything, with
// any status: the verifier must never panic, never accept what it cannot
// verify (the issuer publishes no keys), and refuse with a reason and
// without the caller's token in the message.
func FuzzUpstreamExchangeAnswer(f *testing.F) {
	var status atomic.Int64
	var body atomic.Value
	issuer := fakeExchangeIssuer(f, true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write(body.Load().([]byte))
	})
	v := identity.NewVerifier(identity.Config{PublicURL: exchangeGatewayURL, CacheSize: -1,
		Logger: slog.New(slog.DiscardHandler)})
	team := exchangeTeam(issuer, "c", "s")
	const subject = "the-callers-opaque-token-0123456789"

	f.Add(200, []byte(`{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln","token_type":"Bearer"}`))
	f.Add(200, []byte(`{"access_token":""}`))
	f.Add(200, []byte(`{"access_token":"opaque"}`))
	f.Add(400, []byte(`{"error":"invalid_grant"}`))
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"`+subject+`"}`))
	f.Add(400, []byte(`{"error":"\u0000\n"}`))
	f.Add(400, []byte(`{"error":"`+subject+`"}`))
	f.Add(500, []byte(`oops`))
	f.Add(200, []byte(`[1,2`))
	f.Fuzz(func(t *testing.T, code int, answer []byte) {
		if code < 200 || code > 599 || (code >= 300 && code < 400) {
			code = 200
		}
		status.Store(int64(code))
		body.Store(answer)
		p, err := v.Verify(context.Background(), team, subject)
		if err == nil {
			t.Fatalf("accepted %+v from an issuer without keys", p)
		}
		e := attach.AsError(err)
		if e == nil || e.Code != attach.CodeInvalidToken || e.Reason == "" || e.Message == "" {
			t.Fatalf("refusal %v", err)
		}
		if strings.Contains(e.Message, subject) {
			t.Fatalf("the message echoes the caller's token: %s", e.Message)
		}
	})
}

// FuzzExchangeDiscovery has the issuer publish any discovery document: the
// check must never panic and must refuse all but a document for this
// issuer that lists the grant and a token endpoint.
func FuzzExchangeDiscovery(f *testing.F) {
	var doc atomic.Value
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	f.Cleanup(ts.Close)
	srv := ts.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(doc.Load().([]byte))
	})
	v := identity.NewVerifier(identity.Config{Logger: slog.New(slog.DiscardHandler)})
	f.Add([]byte(`{"issuer":"ISSUER","token_endpoint":"ISSUER/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:token-exchange"]}`))
	f.Add([]byte(`{"issuer":"ISSUER","token_endpoint":"ISSUER/token"}`))
	f.Add([]byte(`{"issuer":"ISSUER","token_endpoint":"ftp://x","grant_types_supported":["urn:ietf:params:oauth:grant-type:token-exchange"]}`))
	f.Add([]byte(`{"issuer":"https://other","grant_types_supported":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = []byte(strings.ReplaceAll(string(raw), "ISSUER", srv))
		doc.Store(raw)
		err := v.CheckExchange(context.Background(), srv)
		var d struct {
			Issuer string   `json:"issuer"`
			Token  string   `json:"token_endpoint"`
			Grants []string `json:"grant_types_supported"`
		}
		valid := json.Unmarshal(raw, &d) == nil && d.Issuer == srv && strings.HasPrefix(d.Token, "http") &&
			strings.Contains(strings.Join(d.Grants, " "), "urn:ietf:params:oauth:grant-type:token-exchange")
		if err == nil && !valid {
			t.Fatalf("accepted %s", raw)
		}
		if err != nil && identity.AsError(err).Reason == "" {
			t.Fatalf("refusal without a reason: %v", err)
		}
	})
}
