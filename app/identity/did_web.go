package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	attach "github.com/attach-dev/attach-gateway"
)

// maxDIDDocumentBytes caps a did:web document: a real one is a few hundred
// bytes per key.
const maxDIDDocumentBytes = 64 << 10

// maxVerificationMethods caps how many keys of one document are read.
const maxVerificationMethods = 64

// webSource fetches did:web documents over HTTPS and keeps their keys for
// a while, keyed by DID, with a bound on how many DIDs it remembers. A
// document is fetched again when it is older than the TTL, or when a token
// names a key it lacks, at most once per minRefresh, so tokens with made-up
// kids cost the DID's host one request per interval.
type webSource struct {
	client     *http.Client
	timeout    time.Duration
	ttl        time.Duration
	minRefresh time.Duration
	size       int
	now        func() time.Time

	flights singleflight.Group

	mu   sync.Mutex
	docs map[string]*webEntry
}

type webEntry struct {
	keys      []webKey // nil until a fetch succeeded
	fetchedAt time.Time
	attemptAt time.Time
	err       error // of the last attempt
}

// webKey is a usable verification method of a document: its fragment and key.
type webKey struct {
	fragment string
	key      didPublicKey
}

func newWebSource(cfg Config) *webSource {
	// The caller's client carries the install's network policy (netguard):
	// every connection, redirects included, is checked. A DID document must
	// also stay on HTTPS through redirects.
	client := *cfg.HTTPClient
	next := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return errors.New("redirected away from https")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return &webSource{
		client:     &client,
		timeout:    cfg.DIDFetchTimeout,
		ttl:        cfg.DIDDocumentTTL,
		minRefresh: cfg.MinRefresh,
		size:       cfg.DIDCacheSize,
		now:        cfg.Now,
		docs:       make(map[string]*webEntry),
	}
}

// check verifies a did:web token with the key its kid names (every key of
// the right type when it names none).
func (w *webSource) check(ctx context.Context, token string, parts []string, alg, did, frag string) error {
	docURL, err := didWebURL(did)
	if err != nil {
		return &attach.Error{Code: attach.CodeInvalidToken, Reason: ReasonDIDUnresolvable, Message: "DID " + quote(did) + " is not a valid did:web", Err: err}
	}
	keys, err := w.keysFor(ctx, did, docURL, false)
	if err != nil {
		return unresolvable(did, err)
	}
	candidates := webCandidates(keys, frag, alg)
	if len(candidates) == 0 && frag != "" {
		// The DID may have added the key since the document was read.
		if keys, err = w.keysFor(ctx, did, docURL, true); err != nil {
			return unresolvable(did, err)
		}
		candidates = webCandidates(keys, frag, alg)
	}
	if len(candidates) == 0 {
		if frag == "" {
			return fail(ReasonUnknownKey, "the DID document of %s lists no %s key", quote(did), alg)
		}
		return fail(ReasonUnknownKey, "the DID document of %s lists no %s key #%s", quote(did), alg, attach.CutUTF8(frag, 100))
	}
	for _, k := range candidates {
		if k.verify(token, parts, alg) {
			return nil
		}
	}
	return fail(ReasonBadSignature, "token signature does not verify with the keys of %s", quote(did))
}

func unresolvable(did string, cause error) *attach.Error {
	return &attach.Error{
		Code:    attach.CodeInvalidToken,
		Reason:  ReasonDIDUnresolvable,
		Message: "the DID document of " + quote(did) + " could not be read",
		Err:     cause,
	}
}

func webCandidates(keys []webKey, frag, alg string) []didPublicKey {
	var out []didPublicKey
	for _, k := range keys {
		if (frag == "" || k.fragment == frag) && k.key.fits(alg) {
			out = append(out, k.key)
		}
	}
	return out
}

// keysFor returns the DID's keys, fetching its document when it is not
// known, older than the TTL, or (unknownKey) lacks a key a token names —
// unless it was fetched less than minRefresh ago. A failed fetch is
// remembered for minRefresh too, so an unreachable host is not asked for
// every token.
func (w *webSource) keysFor(ctx context.Context, did, docURL string, unknownKey bool) ([]webKey, error) {
	now := w.now()
	w.mu.Lock()
	e := w.docs[did]
	if e != nil {
		fresh := e.keys != nil && now.Sub(e.fetchedAt) < w.ttl && !unknownKey
		recent := now.Sub(e.attemptAt) < w.minRefresh
		if fresh || recent {
			keys, err := e.keys, e.err
			w.mu.Unlock()
			if keys == nil && err == nil {
				err = errors.New("document not fetched")
			}
			if keys != nil {
				return keys, nil
			}
			return nil, err
		}
	}
	w.mu.Unlock()

	ch := w.flights.DoChan(did, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.timeout)
		defer cancel()
		keys, err := w.fetch(fctx, did, docURL)
		return w.store(did, keys, err)
	})
	select {
	case r := <-ch:
		keys, _ := r.Val.([]webKey)
		return keys, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// store records a fetch and returns the keys to use. On failure the keys
// fetched before are kept and used (a host that is down for a moment does
// not lock the DID out). A full cache first drops the entries whose
// documents expired, then arbitrary ones.
func (w *webSource) store(did string, keys []webKey, err error) ([]webKey, error) {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.docs[did]
	if e == nil {
		if len(w.docs) >= w.size {
			w.evict(now)
		}
		e = &webEntry{}
		w.docs[did] = e
	}
	e.attemptAt, e.err = now, err
	if err == nil {
		e.keys, e.fetchedAt = keys, now
		return keys, nil
	}
	if e.keys != nil {
		return e.keys, nil
	}
	return nil, err
}

func (w *webSource) evict(now time.Time) {
	for d, e := range w.docs {
		if now.Sub(e.attemptAt) >= w.ttl {
			delete(w.docs, d)
		}
	}
	for d := range w.docs {
		if len(w.docs) < w.size {
			return
		}
		delete(w.docs, d)
	}
}

// fetch GETs the DID document and reads its usable keys.
func (w *webSource) fetch(ctx context.Context, did, docURL string) ([]webKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, fmt.Errorf("bad URL %s", redact(docURL))
	}
	req.Header.Set("Accept", "application/did+json, application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("GET %s: %w", redact(docURL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", redact(docURL), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDIDDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", redact(docURL), err)
	}
	if len(body) > maxDIDDocumentBytes {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", redact(docURL), maxDIDDocumentBytes)
	}
	keys, err := parseDIDDocument(did, body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redact(docURL), err)
	}
	return keys, nil
}

// didWebURL maps did:web:host[%3Aport][:path...] to the HTTPS URL of its
// document: https://host/.well-known/did.json without a path, else
// https://host/path.../did.json.
func didWebURL(did string) (string, error) {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok || rest == "" {
		return "", errors.New("not a did:web DID")
	}
	segs := strings.Split(rest, ":")
	host, err := url.PathUnescape(segs[0])
	if err != nil {
		return "", errors.New("did:web host is badly escaped")
	}
	if err := checkWebHost(host); err != nil {
		return "", err
	}
	path := "/.well-known"
	if len(segs) > 1 {
		var b strings.Builder
		for _, s := range segs[1:] {
			p, err := url.PathUnescape(s)
			if err != nil || p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\\?#") {
				return "", errors.New("did:web path segment is not valid")
			}
			b.WriteString("/")
			b.WriteString(url.PathEscape(p))
		}
		path = b.String()
	}
	return "https://" + host + path + "/did.json", nil
}

// checkWebHost accepts a DNS name or IP address with an optional port, and
// nothing that could change the URL's meaning (user info, path, query). An
// IPv6 address is bracketed, as in a URL.
func checkWebHost(host string) error {
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		name, port = h, p
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return errors.New("did:web port is not valid")
		}
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
	}
	if bracketed := strings.HasPrefix(host, "["); bracketed != strings.Contains(name, ":") {
		return errors.New("did:web host must bracket an IPv6 address, and only that")
	}
	if name == "" || len(name) > 253 {
		return errors.New("did:web host is empty or too long")
	}
	for _, c := range name {
		ok := c == '.' || c == '-' || c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return errors.New("did:web host holds a character a host name cannot")
		}
	}
	if strings.Contains(name, ":") && net.ParseIP(name) == nil {
		return errors.New("did:web host is not valid")
	}
	return nil
}

// verificationMethod is an entry of a DID document's verificationMethod (or
// one embedded in assertionMethod or authentication).
type verificationMethod struct {
	ID                 string          `json:"id"`
	Type               string          `json:"type"`
	Controller         string          `json:"controller"`
	PublicKeyJwk       json.RawMessage `json:"publicKeyJwk"`
	PublicKeyMultibase string          `json:"publicKeyMultibase"`
}

// parseDIDDocument reads the keys of a DID document that may sign for did:
// its id must be did; when it has assertionMethod or authentication, only
// the keys they reference (or embed) count, else every verificationMethod.
// Keys of unknown types, or that do not parse, are skipped; a document with
// none left is an error.
func parseDIDDocument(did string, body []byte) ([]webKey, error) {
	var doc struct {
		ID                 string               `json:"id"`
		VerificationMethod []verificationMethod `json:"verificationMethod"`
		AssertionMethod    []json.RawMessage    `json:"assertionMethod"`
		Authentication     []json.RawMessage    `json:"authentication"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("not a JSON DID document")
	}
	if doc.ID != did {
		return nil, fmt.Errorf("document is for %s, not %s", quote(doc.ID), quote(did))
	}
	methods := doc.VerificationMethod
	refs := slices.Concat(doc.AssertionMethod, doc.Authentication)
	if doc.AssertionMethod != nil || doc.Authentication != nil {
		referenced := map[string]bool{}
		var embedded []verificationMethod
		for _, r := range refs {
			var id string
			if json.Unmarshal(r, &id) == nil {
				if f, ok := methodFragment(did, id); ok {
					referenced[f] = true
				}
				continue
			}
			var vm verificationMethod
			if json.Unmarshal(r, &vm) == nil {
				embedded = append(embedded, vm)
			}
		}
		var kept []verificationMethod
		for _, vm := range methods {
			if f, ok := methodFragment(did, vm.ID); ok && referenced[f] {
				kept = append(kept, vm)
			}
		}
		methods = append(kept, embedded...)
	}
	var keys []webKey
	for i, vm := range methods {
		if i == maxVerificationMethods {
			break
		}
		frag, ok := methodFragment(did, vm.ID)
		if !ok || (vm.Controller != "" && vm.Controller != did) {
			continue
		}
		key, err := methodKey(vm)
		if err != nil {
			continue
		}
		keys = append(keys, webKey{fragment: frag, key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("document lists no usable key")
	}
	return keys, nil
}

// methodFragment is the fragment of a verification method id inside did:
// "did#frag" or "#frag".
func methodFragment(did, id string) (string, bool) {
	base, frag, ok := strings.Cut(id, "#")
	if !ok || frag == "" || (base != "" && base != did) {
		return "", false
	}
	return frag, true
}

// methodKey reads the key of a verification method of a known type.
func methodKey(vm verificationMethod) (didPublicKey, error) {
	switch vm.Type {
	case "Multikey", "Ed25519VerificationKey2020", "JsonWebKey2020", "EcdsaSecp256k1VerificationKey2019", "JsonWebKey":
	default:
		return didPublicKey{}, fmt.Errorf("unsupported verification method type %s", quote(vm.Type))
	}
	var key didPublicKey
	var err error
	switch {
	case vm.PublicKeyMultibase != "":
		key, err = parseMultikey(vm.PublicKeyMultibase)
	case len(vm.PublicKeyJwk) > 0:
		key, err = parseKeyJWK(vm.PublicKeyJwk)
	default:
		return didPublicKey{}, errors.New("verification method has no publicKeyMultibase or publicKeyJwk")
	}
	if err != nil {
		return didPublicKey{}, err
	}
	// A type that names its key kind must hold that kind.
	if (vm.Type == "Ed25519VerificationKey2020" && key.ed == nil) || (vm.Type == "EcdsaSecp256k1VerificationKey2019" && key.k1 == nil) {
		return didPublicKey{}, fmt.Errorf("%s holds another kind of key", vm.Type)
	}
	return key, nil
}

// parseKeyJWK reads a public JWK: OKP Ed25519, EC P-256 or EC secp256k1
// (which go-jose does not know, hence by hand for all three).
func parseKeyJWK(raw json.RawMessage) (didPublicKey, error) {
	var j struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		D   string `json:"d"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return didPublicKey{}, errors.New("publicKeyJwk is not a JSON object")
	}
	if j.D != "" {
		return didPublicKey{}, errors.New("publicKeyJwk holds a private key")
	}
	x, errX := decodeSegment(j.X)
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		if errX != nil {
			return didPublicKey{}, errors.New("JWK x is not base64url")
		}
		return rawPublicKey(codecEd25519, x)
	case j.Kty == "EC" && (j.Crv == "P-256" || j.Crv == "secp256k1"):
		y, errY := decodeSegment(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return didPublicKey{}, errors.New("JWK x and y must be 32 base64url bytes each")
		}
		compressed := make([]byte, 33)
		compressed[0] = 2 | y[31]&1
		copy(compressed[1:], x)
		codec := uint64(codecP256)
		if j.Crv == "secp256k1" {
			codec = codecSecp256k1
		}
		key, err := rawPublicKey(codec, compressed)
		if err != nil {
			return didPublicKey{}, err
		}
		// Compressing dropped y; the point must be the one the JWK names.
		if !sameY(key, y) {
			return didPublicKey{}, errors.New("JWK is not a point on its curve")
		}
		return key, nil
	}
	return didPublicKey{}, fmt.Errorf("unsupported JWK key type %s %s", quote(j.Kty), quote(j.Crv))
}

// sameY says whether the key's y coordinate is y (32 big-endian bytes).
func sameY(k didPublicKey, y []byte) bool {
	var got []byte
	switch {
	case k.p256 != nil:
		got = k.p256.Y.FillBytes(make([]byte, 32))
	case k.k1 != nil:
		got = k.k1.SerializeUncompressed()[33:]
	}
	return string(got) == string(y)
}
