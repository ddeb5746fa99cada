package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	attach "github.com/attach-dev/attach-gateway"
)

// Fuzzers of the DID parsers: multibase/multicodec keys and base58
// (FuzzDIDKey), DID-JWT headers and kids (FuzzDIDJWTHeader), DID documents,
// did:web URLs and JWKs (FuzzDIDDocument). Besides not panicking, each
// checks what the parser promises against an independent reading of the
// same input.

// Keys minted by npm did-jwt (didtest, js/mint.mjs), one per type, with
// their JWKs.
const (
	seedEd25519   = "z6MkgZyG35fLFY3sCWCJNEHSGsV6mZFeUoGcwtgYMtikYhg4"
	seedP256      = "zDnaev9zF83DFk1YLBRv1H6JA1SUbwZz5G8pXVro74n6zcE6E"
	seedSecp256k1 = "zQ3shpYEsNCTj6yzfoeLYuy2ofLwmPvuLPJHMbv6xpSLTNVjS"

	seedJWKEd25519   = `{"crv":"Ed25519","x":"H291zit05GMwKszEChK6CvfKTCAg5TlK3NUTRLrhu2E","kty":"OKP"}`
	seedJWKP256      = `{"kty":"EC","x":"uaarZ4SPuOAh46jydTIN7mhGJiLnazWQsZg9IEDmIus","y":"MU9q4rI2EdWf-dYdatW-B3f4TOsQbso8C6ov3w876d0","crv":"P-256"}`
	seedJWKSecp256k1 = `{"kty":"EC","x":"kxQjX9NtnVD3sNRquL_Ek1mNvxTNR7rWv7fbQ7VuVBU","y":"sE63brQoCNCFV-EzMeIRqtrcFAxEuNSR5K81TjhBr0E","crv":"secp256k1"}`
)

// maxFuzzBase58 bounds what is fed to decodeBase58 directly: its callers
// bound the length, and decoding is quadratic.
const maxFuzzBase58 = 1024

func FuzzDIDKey(f *testing.F) {
	for _, s := range []string{seedEd25519, seedP256, seedSecp256k1, "z", "z1", "z111", "zQ3s", "u7QE", "z6Mk" + strings.Repeat("z", 200), "", "\xff"} {
		f.Add(s, []byte("k"))
	}
	f.Add(seedP256, []byte{})
	f.Fuzz(func(t *testing.T, s string, seed []byte) {
		if len(s) <= maxFuzzBase58 {
			checkBase58(t, s)
			checkBase58RoundTrip(t, []byte(s))
		}

		key, err := parseMultikey(s)
		if err != nil {
			if kinds(key) != 0 {
				t.Fatalf("parseMultikey(%q) failed (%v) but returned a key", s, err)
			}
		} else {
			if len(s) > maxMultibaseLen {
				t.Fatalf("parseMultikey accepted %d characters", len(s))
			}
			checkKey(t, key)
			// One key has one multibase form: what parsed re-encodes to the
			// same text, so one key cannot have two DIDs.
			if got := multikeyOf(key); got != s {
				t.Fatalf("parseMultikey(%q) re-encodes to %q", s, got)
			}
		}
		k2, mb, err2 := parseDIDKey("did:key:" + s)
		if (err == nil) != (err2 == nil) || (err == nil && (mb != s || multikeyOf(k2) != s)) {
			t.Fatalf("did:key:%s parses differently from its multibase: %v / %v", s, err, err2)
		}

		// A key made from fuzzed private bytes, written as a multikey,
		// parses back to a key that verifies what that private key signs.
		if firstSeen(seed) {
			checkSignedWith(t, seed)
		}
	})
}

// seen remembers the private key seeds checked lately: signing costs far
// more than parsing, and the fuzzer mostly mutates the other argument.
var seen = struct {
	sync.Mutex
	m map[[32]byte]bool
}{m: map[[32]byte]bool{}}

func firstSeen(seed []byte) bool {
	h := sha256.Sum256(seed)
	seen.Lock()
	defer seen.Unlock()
	if seen.m[h] {
		return false
	}
	if len(seen.m) >= 4096 {
		clear(seen.m)
	}
	seen.m[h] = true
	return true
}

// checkBase58 compares decodeBase58 with a reading through math/big, and
// bounds its output.
func checkBase58(t *testing.T, s string) {
	t.Helper()
	got, err := decodeBase58(s)
	want, ok := base58BigDecode(s)
	if !ok {
		if err == nil {
			t.Fatalf("decodeBase58(%q) = %x, want an error", s, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("decodeBase58(%q): %v", s, err)
	}
	if string(got) != string(want) {
		t.Fatalf("decodeBase58(%q) = %x, want %x", s, got, want)
	}
	if len(got) > len(s) {
		t.Fatalf("decodeBase58(%q) made %d bytes from %d characters", s, len(got), len(s))
	}
	// base58 has one spelling per byte string.
	if enc := base58Encode(got); enc != s {
		t.Fatalf("decodeBase58(%q) re-encodes to %q", s, enc)
	}
}

func checkBase58RoundTrip(t *testing.T, b []byte) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	enc := base58Encode(b)
	got, err := decodeBase58(enc)
	if err != nil || string(got) != string(b) {
		t.Fatalf("decodeBase58(base58(%x)) = %x, %v", b, got, err)
	}
}

// base58BigDecode is a plain reading of base58 with math/big.
func base58BigDecode(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	n := new(big.Int)
	zeros, leading := 0, true
	for i := range len(s) {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return nil, false
		}
		if leading && d == 0 {
			zeros++
			continue
		}
		leading = false
		n.Mul(n, big.NewInt(58))
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), true
}

func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b[zeros:])
	var digits []byte
	mod, base := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		digits = append(digits, base58Alphabet[mod.Int64()])
	}
	slices.Reverse(digits)
	return strings.Repeat("1", zeros) + string(digits)
}

// multikeyOf writes a key as a multibase multicodec value.
func multikeyOf(k didPublicKey) string {
	var codec uint64
	var raw []byte
	switch {
	case k.ed != nil:
		codec, raw = codecEd25519, k.ed
	case k.p256 != nil:
		codec, raw = codecP256, elliptic.MarshalCompressed(elliptic.P256(), k.p256.X, k.p256.Y)
	case k.k1 != nil:
		codec, raw = codecSecp256k1, k.k1.SerializeCompressed()
	}
	return "z" + base58Encode(append(binary.AppendUvarint(nil, codec), raw...))
}

// jwkOf writes a key as a public JWK.
func jwkOf(k didPublicKey) []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	var m map[string]string
	switch {
	case k.ed != nil:
		m = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(k.ed)}
	case k.p256 != nil:
		m = map[string]string{"kty": "EC", "crv": "P-256", "x": b64(k.p256.X.FillBytes(make([]byte, 32))), "y": b64(k.p256.Y.FillBytes(make([]byte, 32)))}
	case k.k1 != nil:
		u := k.k1.SerializeUncompressed()
		m = map[string]string{"kty": "EC", "crv": "secp256k1", "x": b64(u[1:33]), "y": b64(u[33:])}
	}
	b, _ := json.Marshal(m)
	return b
}

// kinds counts the key's set fields.
func kinds(k didPublicKey) int {
	n := 0
	for _, set := range []bool{k.ed != nil, k.p256 != nil, k.k1 != nil} {
		if set {
			n++
		}
	}
	return n
}

// checkKey checks that a parsed key is one well-formed key, usable for its
// algorithm only, that refuses a signature it did not make, and that its
// JWK form parses back to it.
func checkKey(t *testing.T, k didPublicKey) {
	t.Helper()
	if kinds(k) != 1 {
		t.Fatalf("key has %d kinds", kinds(k))
	}
	switch {
	case k.ed != nil:
		if len(k.ed) != ed25519.PublicKeySize {
			t.Fatalf("ed25519 key of %d bytes", len(k.ed))
		}
	case k.p256 != nil:
		if _, err := k.p256.ECDH(); err != nil {
			t.Fatalf("P-256 key is not a point on the curve: %v", err)
		}
	case k.k1 != nil:
		if !k.k1.IsOnCurve() {
			t.Fatal("secp256k1 key is not on the curve")
		}
	}
	fitting := 0
	for _, alg := range append(slices.Clone(didAlgorithms), "RS256", "none", "") {
		if !k.fits(alg) {
			continue
		}
		if !slices.Contains(didAlgorithms, alg) {
			t.Fatalf("key fits %q", alg)
		}
		fitting++
		sigLen := 64
		if alg == "ES256K-R" {
			sigLen = 65
		}
		token, parts := jws(alg, make([]byte, sigLen))
		if k.verify(token, parts, alg) {
			t.Fatalf("key verifies a zero %s signature", alg)
		}
	}
	if fitting == 0 {
		t.Fatal("key fits no algorithm")
	}
	back, err := parseKeyJWK(jwkOf(k))
	if err != nil || multikeyOf(back) != multikeyOf(k) {
		t.Fatalf("JWK %s of the key parses to %v, %v", jwkOf(k), multikeyOf(back), err)
	}
}

// jws is a compact JWS with header {"alg":alg}, a fixed payload and sig.
func jws(alg string, sig []byte) (string, []string) {
	enc := base64.RawURLEncoding.EncodeToString
	parts := []string{enc([]byte(`{"alg":"` + alg + `"}`)), enc([]byte(`{"iss":"did:example:fuzz"}`)), enc(sig)}
	return strings.Join(parts, "."), parts
}

func signingInput(alg string) string {
	token, _ := jws(alg, nil)
	return strings.TrimSuffix(token, ".")
}

// checkSignedWith derives one private key of each type from seed, signs
// with it, and checks that its public key, through its multikey and JWK
// forms, verifies the signature — and that did:pkh recovery finds its
// address.
func checkSignedWith(t *testing.T, seed []byte) {
	t.Helper()
	scalar := sha256.Sum256(seed)
	enc := base64.RawURLEncoding.EncodeToString

	edPriv := ed25519.NewKeyFromSeed(scalar[:])
	in := signingInput("EdDSA")
	edTok := in + "." + enc(ed25519.Sign(edPriv, []byte(in)))
	checkVerifies(t, "EdDSA", edTok, codecEd25519, edPriv.Public().(ed25519.PublicKey))

	if p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:]); err == nil {
		in := signingInput("ES256")
		h := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, p, h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		checkVerifies(t, "ES256", in+"."+enc(sig), codecP256, elliptic.MarshalCompressed(elliptic.P256(), p.X, p.Y))
	}

	priv := secp256k1.PrivKeyFromBytes(scalar[:])
	if priv.Key.IsZero() {
		return
	}
	in = signingInput("ES256K-R")
	h := sha256.Sum256([]byte(in))
	compact := secpecdsa.SignCompact(priv, h[:], true) // recovery code, r, s
	sig := append(slices.Clone(compact[1:]), compact[0]-27-4)
	checkVerifies(t, "ES256K-R", in+"."+enc(sig), codecSecp256k1, priv.PubKey().SerializeCompressed())
	addr, err := recoverAddress(in, sig)
	if want := ethereumAddress(priv.PubKey().SerializeUncompressed()); err != nil || string(addr) != string(want) {
		t.Fatalf("recovered address %x, %v; want %x", addr, err, want)
	}
	in = signingInput("ES256K")
	h = sha256.Sum256([]byte(in))
	compact = secpecdsa.SignCompact(priv, h[:], true)
	checkVerifies(t, "ES256K", in+"."+enc(compact[1:]), codecSecp256k1, priv.PubKey().SerializeCompressed())
}

func checkVerifies(t *testing.T, alg, token string, codec uint64, pub []byte) {
	t.Helper()
	mb := "z" + base58Encode(append(binary.AppendUvarint(nil, codec), pub...))
	key, err := parseMultikey(mb)
	if err != nil {
		t.Fatalf("%s key %s: %v", alg, mb, err)
	}
	fromJWK, err := parseKeyJWK(jwkOf(key))
	if err != nil {
		t.Fatalf("%s key %s as JWK: %v", alg, mb, err)
	}
	parts := strings.Split(token, ".")
	for _, k := range []didPublicKey{key, fromJWK} {
		if !k.verify(token, parts, alg) {
			t.Fatalf("%s key %s does not verify its own signature", alg, mb)
		}
	}
	// Another payload under the same signature is refused.
	forged := []string{parts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"did:example:other"}`)), parts[2]}
	if key.verify(strings.Join(forged, "."), forged, alg) {
		t.Fatalf("%s key verifies a signature over another payload", alg)
	}
}

// maxDIDMessage bounds a refusal's message: it quotes at most two values
// from the token, each cut to 100 bytes before quoting (so at most 405
// bytes once control bytes are escaped as \xNN).
const maxDIDMessage = 1024

func FuzzDIDJWTHeader(f *testing.F) {
	const did = "did:key:" + seedEd25519
	for _, h := range []string{
		`{"kid":"` + did + `#` + seedEd25519 + `","typ":"JWT","alg":"EdDSA"}`,
		`{"typ":"JWT","alg":"ES256K-R"}`,
		`{"alg":"ES256","kid":"#key-1"}`,
		`{"alg":"ES256K","kid":null,"typ":null,"crit":null}`,
		`{"alg":"EdDSA","crit":["b64"],"b64":false}`,
		`{"alg":"EdDSA","typ":"at+jwt"}`,
		`{"alg":"HS256"}`,
		`{"ALG":"EdDSA"}`,
		`{"alg":"EdDSA","kid":7}`,
		`[]`, `null`, ``,
	} {
		f.Add(h, did, did+"#"+seedEd25519)
	}
	f.Add(`{"alg":"EdDSA"}`, "did:web:example.com:u:alice", "#key-1")
	f.Add(`{"alg":"EdDSA"}`, "did:pkh:eip155:1:0x68a59cc36be3544574e65720709aeed132326ff8", "did:pkh:eip155:1:0x68a59cc36be3544574e65720709aeed132326ff8#blockchainAccountId")
	f.Add(`{"alg":"EdDSA"}`, "did:web:a", "did:web:a:b#c")
	f.Add(`{"alg":"EdDSA"}`, "did:web:a", "did:web:a#")
	f.Fuzz(func(t *testing.T, header, did, kid string) {
		seg := base64.RawURLEncoding.EncodeToString([]byte(header))
		h, err := parseDIDHeader(seg)
		checkHeader(t, header, h, err)
		// The segment as it arrives, not necessarily base64url.
		if h, err := parseDIDHeader(header); err == nil {
			b, _ := decodeSegment(header)
			checkHeader(t, string(b), h, nil)
		} else {
			checkRefusal(t, err, ReasonMalformed, ReasonAlgNotAllowed, ReasonBadType)
		}
		if err == nil {
			checkKID(t, did, h.Kid)
		}
		checkKID(t, did, kid)

		m := didMethod(did)
		if strings.Contains(m, ":") || (strings.HasPrefix(did, "did:") && !strings.HasPrefix(did, "did:"+m)) {
			t.Fatalf("didMethod(%q) = %q", did, m)
		}
	})
}

// checkHeader compares parseDIDHeader's reading of a JSON header with a
// plain, case-sensitive one: JOSE header names are case-sensitive.
func checkHeader(t *testing.T, header string, h didHeader, err error) {
	t.Helper()
	if err != nil {
		checkRefusal(t, err, ReasonMalformed, ReasonAlgNotAllowed, ReasonBadType)
		return
	}
	var raw map[string]any
	if json.Unmarshal([]byte(header), &raw) != nil {
		t.Fatalf("header %q is not a JSON object but parsed to %+v", header, h)
	}
	if alg, _ := raw["alg"].(string); alg != h.Alg || !slices.Contains(didAlgorithms, h.Alg) {
		t.Fatalf("header %q parsed with alg %q", header, h.Alg)
	}
	kid, _ := raw["kid"].(string)
	if kid != h.Kid || len(h.Kid) > maxKIDLen {
		t.Fatalf("header %q parsed with kid %q", header, h.Kid)
	}
	if crit, ok := raw["crit"]; ok && crit != nil {
		t.Fatalf("header %q names critical extensions and parsed", header)
	}
	if typ, ok := raw["typ"]; ok && typ != nil {
		if s, _ := typ.(string); !acceptedType(s) {
			t.Fatalf("header %q of type %v parsed", header, typ)
		}
	}
}

// checkKID checks that a kid names no key of another DID than did.
func checkKID(t *testing.T, did, kid string) {
	t.Helper()
	frag, err := kidFragment(did, kid)
	if err != nil {
		checkRefusal(t, err, ReasonKIDMismatch)
		return
	}
	if frag == "" {
		if kid != "" && kid != did {
			t.Fatalf("kid %q of %q names no key but was accepted", kid, did)
		}
		return
	}
	if kid != did+"#"+frag && kid != "#"+frag {
		t.Fatalf("kid %q accepted for %q with fragment %q", kid, did, frag)
	}
}

func checkRefusal(t *testing.T, err error, reasons ...string) {
	t.Helper()
	e := attach.AsError(err)
	if e == nil || e.Code != attach.CodeInvalidToken || !slices.Contains(reasons, e.Reason) {
		t.Fatalf("refusal %v is not a refused token with a reason of %v", err, reasons)
	}
	if e.Message == "" || len(e.Message) > maxDIDMessage {
		t.Fatalf("refusal message of %d bytes: %.200q", len(e.Message), e.Message)
	}
}

// A did:web document as a did:web host serves it, with the keys above in
// every form the parser reads.
const seedDocument = `{
  "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
  "id": "did:web:bots.example.com:agents:planner",
  "verificationMethod": [
    {"id": "did:web:bots.example.com:agents:planner#key-1", "type": "Multikey", "controller": "did:web:bots.example.com:agents:planner", "publicKeyMultibase": "` + seedEd25519 + `"},
    {"id": "#key-2", "type": "JsonWebKey2020", "controller": "did:web:bots.example.com:agents:planner", "publicKeyJwk": ` + seedJWKP256 + `},
    {"id": "did:web:bots.example.com:agents:planner#key-3", "type": "EcdsaSecp256k1VerificationKey2019", "controller": "did:web:bots.example.com:agents:planner", "publicKeyJwk": ` + seedJWKSecp256k1 + `},
    {"id": "did:web:bots.example.com:agents:planner#old", "type": "Ed25519VerificationKey2020", "controller": "did:web:bots.example.com:agents:planner", "publicKeyMultibase": "` + seedEd25519 + `"}
  ],
  "assertionMethod": ["did:web:bots.example.com:agents:planner#key-1", "#key-2", "did:web:bots.example.com:agents:planner#key-3",
    {"id": "did:web:bots.example.com:agents:planner#embedded", "type": "JsonWebKey", "publicKeyJwk": ` + seedJWKEd25519 + `}],
  "authentication": ["#key-1"]
}`

func FuzzDIDDocument(f *testing.F) {
	const did = "did:web:bots.example.com:agents:planner"
	f.Add(did, []byte(seedDocument))
	f.Add("did:web:localhost%3A8443", []byte(`{"id":"did:web:localhost%3A8443","verificationMethod":[{"id":"#k","type":"Multikey","publicKeyMultibase":"`+seedP256+`"}]}`))
	f.Add("did:web:127.0.0.1%3A1:a%2Fb", []byte(`{"id":"x","verificationMethod":[]}`))
	f.Add("did:web:example.com", []byte(seedJWKEd25519))
	f.Add("did:web:example.com", []byte(seedJWKP256))
	f.Add("did:web:example.com", []byte(seedJWKSecp256k1))
	f.Add("did:web:%3A%3A1", []byte(`{}`)) // an IPv6 address must be bracketed
	f.Add("did:web:[::1]%3A443:..", []byte(`{"kty":"EC","crv":"P-256","x":"","y":"","d":"x"}`))
	f.Fuzz(func(t *testing.T, did string, body []byte) {
		checkWebURL(t, did)
		checkDocument(t, did, body)
		// Fuzzed bodies seldom name the fuzzed DID: read each as its own
		// DID's document too.
		var probe struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.ID != did {
			checkDocument(t, probe.ID, body)
		}
		key, err := parseKeyJWK(body)
		if err == nil {
			checkKey(t, key)
			var j map[string]any
			if json.Unmarshal(body, &j) != nil || j["d"] != nil {
				t.Fatalf("JWK %q parsed", body)
			}
		} else if kinds(key) != 0 {
			t.Fatalf("parseKeyJWK failed (%v) but returned a key", err)
		}
	})
}

// checkWebURL checks that a did:web URL is an HTTPS URL of a did.json on
// the DID's host, with no user, query, fragment or dot segment, and that
// writing it back as a DID leads to the same URL.
func checkWebURL(t *testing.T, did string) {
	t.Helper()
	raw, err := didWebURL(did)
	if err != nil {
		return
	}
	if !strings.HasPrefix(did, "did:web:") {
		t.Fatalf("didWebURL(%q) = %q", did, raw)
	}
	if len(raw) > len("https://")+3*len(did)+len("/.well-known/did.json") {
		t.Fatalf("didWebURL(%q) is %d bytes", did, len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("didWebURL(%q) = %q, not a URL: %v", did, raw, err)
	}
	host, _ := url.PathUnescape(strings.Split(strings.TrimPrefix(did, "did:web:"), ":")[0])
	if u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Host != host || u.Opaque != "" {
		t.Fatalf("didWebURL(%q) = %q", did, raw)
	}
	segs := strings.Split(u.Path, "/")
	if segs[0] != "" || segs[len(segs)-1] != "did.json" || slices.Contains(segs, "..") || slices.Contains(segs, ".") {
		t.Fatalf("didWebURL(%q) has path %q", did, u.Path)
	}
	if u.String() != raw {
		t.Fatalf("didWebURL(%q) = %q, which reads back as %q", did, raw, u.String())
	}
	back := didOfWebURL(u)
	if again, err := didWebURL(back); err != nil || again != raw {
		t.Fatalf("didWebURL(%q) = %q; its DID %q maps to %q, %v", did, raw, back, again, err)
	}
}

// didOfWebURL writes the did:web DID of a document URL.
func didOfWebURL(u *url.URL) string {
	esc := func(s string) string { return strings.ReplaceAll(url.PathEscape(s), ":", "%3A") }
	did := "did:web:" + esc(u.Host)
	if u.Path == "/.well-known/did.json" {
		return did
	}
	for _, s := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/did.json"), "/") {
		did += ":" + esc(s)
	}
	return did
}

// checkDocument checks that the keys read from a document are few, named,
// usable, and belong to the document's DID.
func checkDocument(t *testing.T, did string, body []byte) {
	t.Helper()
	keys, err := parseDIDDocument(did, body)
	if err != nil {
		if keys != nil {
			t.Fatalf("parseDIDDocument failed (%v) but returned keys", err)
		}
		if len(err.Error()) > maxDIDMessage {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		return
	}
	var doc struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.ID != did {
		t.Fatalf("document %.200q read for %q", body, did)
	}
	if len(keys) == 0 || len(keys) > maxVerificationMethods {
		t.Fatalf("document gave %d keys", len(keys))
	}
	for _, k := range keys {
		if k.fragment == "" {
			t.Fatal("key without a fragment")
		}
		if !strings.Contains(string(body), k.fragment) && !strings.Contains(string(body), `\`) {
			t.Fatalf("fragment %q is not in the document", k.fragment)
		}
		checkKey(t, k.key)
	}
}
