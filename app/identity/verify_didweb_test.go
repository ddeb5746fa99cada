package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/identity/didtest"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// didHost serves DID documents over HTTPS on loopback. Its handler may be
// replaced by a test to misbehave.
type didHost struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu      sync.Mutex
	docs    map[string][]byte // by path
	handler http.HandlerFunc  // when set, answers instead
}

func startDIDHost(t testing.TB) *didHost {
	t.Helper()
	h := &didHost{docs: map[string][]byte{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		h.mu.Lock()
		doc, ok := h.docs[r.URL.Path]
		custom := h.handler
		h.mu.Unlock()
		if custom != nil {
			custom(w, r)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/did+json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// did is the did:web DID of a path on the host ("" for the host's own).
func (h *didHost) did(path ...string) string {
	host := strings.Replace(strings.TrimPrefix(h.srv.URL, "https://"), ":", "%3A", 1)
	return strings.Join(append([]string{"did:web:" + host}, path...), ":")
}

func (h *didHost) serve(path string, doc any) {
	b, ok := doc.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(doc); err != nil {
			panic(err)
		}
	}
	h.mu.Lock()
	h.docs[path] = b
	h.mu.Unlock()
}

func (h *didHost) setHandler(f http.HandlerFunc) {
	h.mu.Lock()
	h.handler = f
	h.mu.Unlock()
}

// client is the install's netguard client, trusting the host's test CA.
func (h *didHost) client(policy netguard.Policy) *http.Client {
	c := policy.HTTPClient(10 * time.Second)
	c.Transport.(*http.Transport).TLSClientConfig = h.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return c
}

// vm is a verification method for a minted key, in the given form.
func vm(did, frag, typ string, tok didtest.Token) map[string]any {
	m := map[string]any{"id": did + "#" + frag, "type": typ, "controller": did}
	if typ == "JsonWebKey2020" || typ == "EcdsaSecp256k1VerificationKey2019" {
		m["publicKeyJwk"] = tok.JWK
	} else {
		m["publicKeyMultibase"] = tok.Multibase
	}
	return m
}

func doc(did string, methods []map[string]any, assertion ...any) map[string]any {
	d := map[string]any{
		"@context":           []string{"https://www.w3.org/ns/did/v1"},
		"id":                 did,
		"verificationMethod": methods,
	}
	if assertion != nil {
		d["assertionMethod"] = assertion
	}
	return d
}

var webTeam = didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodWeb}})

func TestDIDWebKeyTypesVerify(t *testing.T) {
	h := startDIDHost(t)
	v := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: true})})
	for _, tc := range []struct {
		key, typ string
		path     []string
		kid      string
	}{
		{didtest.Ed25519, "Ed25519VerificationKey2020", nil, "absolute"},
		{didtest.Ed25519, "Multikey", []string{"agents", "alice"}, "relative"},
		{didtest.P256, "JsonWebKey2020", []string{"p256"}, "absolute"},
		{didtest.P256, "Multikey", []string{"p256mb"}, "none"},
		{didtest.Secp256k1, "EcdsaSecp256k1VerificationKey2019", []string{"k1"}, "absolute"},
		{didtest.Secp256k1, "Multikey", []string{"k1mb"}, "relative"},
	} {
		t.Run(tc.key+"/"+tc.typ, func(t *testing.T) {
			did := h.did(tc.path...)
			tok := didtest.Mint(t, didtest.Request{Key: tc.key, Method: "web", WebDID: did, Kid: tc.kid, Claims: teamAud, ExpiresIn: 600})
			path := "/.well-known/did.json"
			if tc.path != nil {
				path = "/" + strings.Join(tc.path, "/") + "/did.json"
			}
			h.serve(path, doc(did, []map[string]any{vm(did, "key-1", tc.typ, tok)}, "#key-1"))
			p, err := v.Verify(context.Background(), webTeam, tok.Token)
			if err != nil {
				t.Fatalf("verify %s: %v", did, err)
			}
			if p.Subject != did || p.Issuer != did || p.Method != attach.MethodDID {
				t.Fatalf("principal %+v", p)
			}
		})
	}
}

func TestDIDWebRefusals(t *testing.T) {
	ctx := context.Background()
	h := startDIDHost(t)
	v := didVerifier(t, identity.Config{CacheSize: -1, HTTPClient: h.client(netguard.Policy{AllowPrivate: true}), DIDFetchTimeout: 300 * time.Millisecond})
	// Each case gets its own DID (path), so the cached documents of one do
	// not answer for another.
	mint := func(t *testing.T, name string, req didtest.Request) (string, didtest.Token) {
		did := h.did(name)
		req.Method, req.WebDID = "web", did
		if req.Key == "" {
			req.Key = didtest.Ed25519
		}
		if req.Claims == nil {
			req.Claims = teamAud
		}
		if req.ExpiresIn == 0 {
			req.ExpiresIn = 600
		}
		return did, didtest.Mint(t, req)
	}
	path := func(name string) string { return "/" + name + "/did.json" }

	t.Run("signed by another key", func(t *testing.T) {
		did, tok := mint(t, "other", didtest.Request{Forge: didtest.Forge{OtherKey: true}})
		h.serve(path("other"), doc(did, []map[string]any{vm(did, "key-1", "Multikey", tok)}))
		_, err := v.Verify(ctx, webTeam, tok.Token)
		wantReason(t, err, identity.ReasonBadSignature, tok.Token)
	})
	t.Run("kid of another DID", func(t *testing.T) {
		did, tok := mint(t, "kidother", didtest.Request{Kid: h.did("victim") + "#key-1"})
		h.serve(path("kidother"), doc(did, []map[string]any{vm(did, "key-1", "Multikey", tok)}))
		_, err := v.Verify(ctx, webTeam, tok.Token)
		wantReason(t, err, identity.ReasonKIDMismatch, tok.Token)
	})
	t.Run("key not listed for assertions", func(t *testing.T) {
		did, tok := mint(t, "assert", didtest.Request{})
		other := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519})
		h.serve(path("assert"), doc(did, []map[string]any{vm(did, "key-1", "Multikey", tok), vm(did, "key-2", "Multikey", other)}, "#key-2"))
		_, err := v.Verify(ctx, webTeam, tok.Token)
		wantReason(t, err, identity.ReasonUnknownKey, tok.Token)
	})
	t.Run("no usable key", func(t *testing.T) {
		did, tok := mint(t, "nokey", didtest.Request{})
		m := vm(did, "key-1", "X25519KeyAgreementKey2020", tok)
		h.serve(path("nokey"), doc(did, []map[string]any{m}))
		_, err := v.Verify(ctx, webTeam, tok.Token)
		e := wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
		if !strings.Contains(e.Err.Error(), "no usable key") {
			t.Errorf("cause %v, want no usable key", e.Err)
		}
	})
	t.Run("document of another DID", func(t *testing.T) {
		did, tok := mint(t, "wrongid", didtest.Request{})
		h.serve(path("wrongid"), doc(h.did("elsewhere"), []map[string]any{vm(did, "key-1", "Multikey", tok)}))
		_, err := v.Verify(ctx, webTeam, tok.Token)
		wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
	})
	t.Run("huge document", func(t *testing.T) {
		did, tok := mint(t, "huge", didtest.Request{})
		d := doc(did, []map[string]any{vm(did, "key-1", "Multikey", tok)})
		d["padding"] = strings.Repeat("x", 64<<10)
		h.serve(path("huge"), d)
		_, err := v.Verify(ctx, webTeam, tok.Token)
		e := wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
		if !strings.Contains(e.Err.Error(), "larger than") {
			t.Errorf("cause %v, want too large", e.Err)
		}
	})
	t.Run("no document", func(t *testing.T) {
		_, tok := mint(t, "missing", didtest.Request{})
		_, err := v.Verify(ctx, webTeam, tok.Token)
		wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
	})
	t.Run("not trusted", func(t *testing.T) {
		_, tok := mint(t, "untrusted", didtest.Request{})
		_, err := v.Verify(ctx, didTeam("a", attach.DIDPolicy{Methods: []string{attach.DIDMethodKey}}), tok.Token)
		wantReason(t, err, identity.ReasonDIDMethodNotTrusted, tok.Token)
	})
}

// TestDIDWebSlowDocument: a host that never answers costs one fetch
// timeout, then the token is refused.
func TestDIDWebSlowDocument(t *testing.T) {
	h := startDIDHost(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	v := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: true}), DIDFetchTimeout: 200 * time.Millisecond})
	tok := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Method: "web", WebDID: h.did("slow"), Claims: teamAud, ExpiresIn: 600})
	_, err := v.Verify(context.Background(), webTeam, tok.Token)
	e := wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
	if !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("cause %v, want the fetch deadline", e.Err)
	}
}

// TestDIDWebNetworkPolicy: the document is fetched under the install's
// network policy, redirects included.
func TestDIDWebNetworkPolicy(t *testing.T) {
	ctx := context.Background()
	h := startDIDHost(t)
	tok := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Method: "web", WebDID: h.did("guarded"), Claims: teamAud, ExpiresIn: 600})
	did := tok.DID
	h.serve("/guarded/did.json", doc(did, []map[string]any{vm(did, "key-1", "Multikey", tok)}))

	// A gateway that does not call private networks does not fetch a
	// document from one.
	closed := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: false})})
	_, err := closed.Verify(ctx, webTeam, tok.Token)
	e := wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
	if !errors.Is(e, netguard.ErrRefused) {
		t.Errorf("cause %v, want the network policy's refusal", e.Err)
	}

	// Redirects to the cloud metadata address, or off HTTPS, are refused.
	for name, target := range map[string]string{
		"metadata": "https://169.254.169.254/latest/meta-data/did.json",
		"http":     "http://" + strings.TrimPrefix(h.srv.URL, "https://") + "/guarded/did.json",
	} {
		t.Run(name, func(t *testing.T) {
			h.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
			defer h.setHandler(nil)
			open := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: true})})
			_, err := open.Verify(ctx, webTeam, tok.Token)
			e := wantReason(t, err, identity.ReasonDIDUnresolvable, tok.Token)
			if name == "metadata" && !errors.Is(e, netguard.ErrRefused) {
				t.Errorf("cause %v, want the network policy's refusal", e.Err)
			}
			if name == "http" && !strings.Contains(e.Err.Error(), "away from https") {
				t.Errorf("cause %v, want the redirect off HTTPS refused", e.Err)
			}
		})
	}
	open := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: true})})
	if _, err := open.Verify(ctx, webTeam, tok.Token); err != nil {
		t.Fatalf("without redirect: %v", err)
	}
}

// TestDIDWebUnknownKidRefetch: a kid the cached document lacks makes the
// gateway fetch the document again, at most once per MinRefresh.
func TestDIDWebUnknownKidRefetch(t *testing.T) {
	ctx := context.Background()
	h := startDIDHost(t)
	clk := newClock()
	v := didVerifier(t, identity.Config{HTTPClient: h.client(netguard.Policy{AllowPrivate: true}), Now: clk.Now, MinRefresh: 30 * time.Second, CacheSize: -1})
	did := h.did("rotating")
	first := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Method: "web", WebDID: did, Fragment: "key-1", Claims: teamAud, ExpiresIn: 600})
	second := didtest.Mint(t, didtest.Request{Key: didtest.P256, Method: "web", WebDID: did, Fragment: "key-2", Claims: teamAud, ExpiresIn: 600})
	h.serve("/rotating/did.json", doc(did, []map[string]any{vm(did, "key-1", "Multikey", first)}))

	if _, err := v.Verify(ctx, webTeam, first.Token); err != nil {
		t.Fatal(err)
	}
	if n := h.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// The DID adds key-2; just after a fetch the gateway does not ask again.
	h.serve("/rotating/did.json", doc(did, []map[string]any{vm(did, "key-1", "Multikey", first), vm(did, "key-2", "Multikey", second)}))
	_, err := v.Verify(ctx, webTeam, second.Token)
	wantReason(t, err, identity.ReasonUnknownKey, second.Token)
	if n := h.hits.Load(); n != 1 {
		t.Fatalf("%d fetches within MinRefresh, want 1", n)
	}
	clk.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, webTeam, second.Token); err != nil {
		t.Fatalf("after the refetch: %v", err)
	}
	if n := h.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Made-up kids do not make the gateway hammer the host.
	forged := didtest.Mint(t, didtest.Request{Key: didtest.Ed25519, Method: "web", WebDID: did, Fragment: "made-up", Claims: teamAud, ExpiresIn: 600})
	for range 3 {
		_, err := v.Verify(ctx, webTeam, forged.Token)
		wantReason(t, err, identity.ReasonUnknownKey, forged.Token)
	}
	if n := h.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after a made-up kid, want 2", n)
	}
	// Known keys keep verifying from the cache.
	if _, err := v.Verify(ctx, webTeam, first.Token); err != nil {
		t.Fatal(err)
	}
	if n := h.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// A document older than its TTL is fetched again.
	clk.Advance(6 * time.Minute)
	if _, err := v.Verify(ctx, webTeam, first.Token); err != nil {
		t.Fatal(err)
	}
	if n := h.hits.Load(); n != 3 {
		t.Fatalf("%d fetches after the TTL, want 3", n)
	}
}
